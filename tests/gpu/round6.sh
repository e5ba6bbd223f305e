#!/usr/bin/env bash
# One GPU call: build, the data-parallel smoke test (NCCL process group of size 1, the launcher), and the CUDA
# Debian package recipe. Usage: bash tests/gpu/round6.sh OUT
out=${1:-$OUT}
mkdir -p "$out"
prefix=$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')
t0=$(date +%s)
cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DPONET_BUILD_GUI=OFF -DPONET_BUILD_TESTS=OFF \
      -DCMAKE_PREFIX_PATH="$prefix" > "$out/configure.log" 2>&1 || { tail -30 "$out/configure.log"; exit 1; }
grep -E "PoNet:" "$out/configure.log"
cmake --build build-gpu --target ponet -j16 > "$out/build.log" 2>&1 || { grep -E "error" -A3 "$out/build.log" | head -40; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
timeout 120 bash tests/gpu/ddp-smoke.sh "$out/ddp" > "$out/ddp.log" 2>&1; echo "ddp smoke exit $?"
grep -E "^==|exit|error" "$out/ddp.log" | head -20
timeout 200 bash tests/gpu/package-cuda.sh "$out/pkg" > "$out/pkg.log" 2>&1; echo "package-cuda exit $?"
tail -25 "$out/pkg.log"
