#!/usr/bin/env bash
# On the GPU machine: builds `ponet` against PyTorch's CUDA LibTorch, runs the self-test on every device (golden
# parity through the fused and reference paths, fused-vs-reference in fp32/bf16/fp16) and times the mixing alone
# with `ponet bench-mixer` on the GPU and on all CPU cores. Results go to $OUT (or the first argument).
# Usage: bash tests/gpu/kernels.sh [OUT_DIR]
set -uo pipefail
out=${1:-${OUT:-/tmp/ponet-gpu}}
mkdir -p "$out"
exec > >(tee "$out/kernels.log") 2>&1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
prefix=$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')
build=${PONET_GPU_BUILD:-build-gpu}
start=$(date +%s)
if [ ! -x "$build/ponet" ] || [ -n "${PONET_REBUILD:-}" ]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DPONET_BUILD_GUI=OFF -DPONET_BUILD_TESTS=OFF \
        -DCMAKE_PREFIX_PATH="$prefix" -DPONET_CUDA_ARCHITECTURES=90 > "$out/configure.log" 2>&1 \
    || { tail -40 "$out/configure.log"; exit 1; }
  grep -E "PoNet:" "$out/configure.log" || true
  cmake --build "$build" -j"$(nproc)" > "$out/build.log" 2>&1 || { grep -E "error" -A3 "$out/build.log" | head -60; exit 1; }
fi
echo "== build took $(( $(date +%s) - start )) s"
"$build/ponet" --version
echo "== selftest"
"$build/ponet" selftest --verbose > "$out/selftest.log" 2>&1; echo "selftest exit $?"
grep -E "fused vs reference|FAIL" "$out/selftest.log" | head -40
tail -2 "$out/selftest.log"
bm() { echo "== bench-mixer $*"; "$build/ponet" bench-mixer "$@" 2>&1 | grep -v "^W20\|Warning:" | tee -a "$out/bench-mixer.txt"; }
bm --device cuda --dtype bf16 --batch 32 --length 16384 --hidden 64 --heads 2 --iters 20
bm --device cuda --dtype bf16 --batch 32 --length 4096 --hidden 64 --heads 2 --iters 20
bm --device cuda --dtype bf16 --batch 8 --length 4096 --hidden 768 --heads 12 --iters 20
bm --device cuda --dtype fp32 --batch 8 --length 4096 --hidden 768 --heads 12 --iters 20
bm --device cpu --dtype fp32 --batch 1 --length 4096 --hidden 768 --heads 12 --iters 5 --warmup 1
