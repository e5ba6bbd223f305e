#!/usr/bin/env bash
# The speed measurements of issue #5 on the GPU machine, with `ponet bench`:
#   1. the PoNet paper's Table 2 setting (LRA text shape, batch 32, train steps) for PoNet, FNet and attention at
#      512 ... 16,384 tokens, and PoNet alone at 32,768 and 65,536;
#   2. the ponet-base shape at 4,096 tokens: PoNet fused vs PoNet reference vs attention, train and inference;
#   3. the CPU: PoNet fused vs reference, whole LRA-text train steps at 4,096 tokens, on every core.
# It builds the CLI against PyTorch's LibTorch (no Qt), as tests/gpu/run-on-gpu-machine.sh does, and writes the
# JSON reports, the printed tables and a summary under OUT_DIR.
# Usage on the device machine, from the repository root: bash tests/bench/table2.sh [OUT_DIR]
# Environment: STEPS (timed steps, default 20), WARMUP (default 5), BASE_BATCH (default 8), SKIP_BUILD=1 to reuse
# build-gpu/.
set -uo pipefail
out=${1:-${OUT:-/tmp/ponet-bench}}
mkdir -p "$out"
exec > >(tee "$out/table2.log") 2>&1
steps=${STEPS:-20}
warmup=${WARMUP:-5}
base_batch=${BASE_BATCH:-8}
build=build-gpu
ponet=$build/ponet

echo "== machine"
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv,noheader || true
nproc
python3 -c 'import torch;print("torch", torch.__version__, "cuda", torch.version.cuda)' || true

if [[ "${SKIP_BUILD:-0}" != 1 || ! -x "$ponet" ]]; then
  prefix=$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')
  start=$(date +%s)
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DPONET_BUILD_GUI=OFF -DPONET_BUILD_TESTS=OFF \
        -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_CUDA_ARCHITECTURES=90 > "$out/configure.log" 2>&1 \
    || { tail -40 "$out/configure.log"; exit 1; }
  cmake --build "$build" --target ponet -j"$(nproc)" > "$out/build.log" 2>&1 \
    || { grep -E "error|FAILED" "$out/build.log" | head -40; exit 1; }
  echo "== build took $(( $(date +%s) - start )) s"
fi
"$ponet" --version

# Each run keeps going after a failed one; the exit status of each is in the summary.
declare -a summary
run() {
  local name=$1; shift
  echo
  echo "== $name: ponet bench $*"
  local t0=$(date +%s)
  "$ponet" bench "$@" --steps "$steps" --warmup "$warmup" --json "$out/$name.json" > "$out/$name.txt" 2> "$out/$name.err"
  local rc=$?
  cat "$out/$name.txt"
  [[ $rc -eq 0 ]] || tail -5 "$out/$name.err"
  summary+=("$name: exit $rc, $(( $(date +%s) - t0 )) s")
}

lens=512,1024,2048,4096,8192,16384
run table2-train      --preset lra-text --mixers ponet,fnet,attention --lens "$lens" --batch 32 --device cuda
run table2-ponet-long --preset lra-text --mixers ponet --lens 32768,65536 --batch 32 --device cuda
run table2-reference  --preset lra-text --mixers ponet --lens "$lens" --batch 32 --device cuda --impl reference

for mode in train infer; do
  run base4096-$mode-fused     --preset base --mixers ponet --lens 4096 --batch "$base_batch" --device cuda --mode $mode --impl fused
  run base4096-$mode-reference --preset base --mixers ponet --lens 4096 --batch "$base_batch" --device cuda --mode $mode --impl reference
  run base4096-$mode-attention --preset base --mixers attention --lens 4096 --batch "$base_batch" --device cuda --mode $mode
done

for impl in fused reference; do
  run cpu4096-$impl --preset lra-text --mixers ponet --lens 4096 --batch 8 --device cpu --impl $impl
done

echo
echo "== summary"
printf '%s\n' "${summary[@]}" | tee "$out/summary.txt"
