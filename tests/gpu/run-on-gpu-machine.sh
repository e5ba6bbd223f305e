#!/usr/bin/env bash
# Builds the CLI against the GPU machine's CUDA LibTorch (PyTorch's) and runs `ponet selftest` on every device.
# Usage on the device machine, from the repository root: bash tests/gpu/run-on-gpu-machine.sh [OUT_DIR]
set -euo pipefail
out=${1:-${OUT:-/tmp/ponet-gpu}}
mkdir -p "$out"
exec > >(tee "$out/gpu-run.log") 2>&1
echo "== machine"; nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
python3 -c 'import torch;print("torch", torch.__version__, "cuda", torch.version.cuda, "cxx11abi", torch.compiled_with_cxx11_abi())'
prefix=$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')
build=build-gpu
start=$(date +%s)
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DPONET_BUILD_GUI=OFF -DPONET_BUILD_TESTS=OFF \
      -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_CUDA_ARCHITECTURES=90 > "$out/configure.log" 2>&1 || { tail -40 "$out/configure.log"; exit 1; }
grep -E "PoNet:|LibTorch" "$out/configure.log" || true
cmake --build "$build" -j"$(nproc)" 2>&1 | tee "$out/build.log" | grep -E "error|warning:|FAILED" | head -40 || true
[ -x "$build/ponet" ] || { echo "build failed"; tail -60 "$out/build.log"; exit 1; }
echo "== build took $(( $(date +%s) - start )) s"
"$build/ponet" --version
echo "== selftest"
rc=0; "$build/ponet" selftest --verbose > "$out/selftest.log" 2>&1 || rc=$?
grep -E "^(FAIL|PASS  \[cuda)" "$out/selftest.log" | grep -E "FAIL|golden (last|pooler|prediction|seq_rel|mlm|sso)|naive|invariance|DFT|softmax|round" | head -60
tail -1 "$out/selftest.log"
exit $rc
