#!/usr/bin/env bash
# One GPU call: build, the self-test on every device, the Table 2 setting with and without CUDA graph replay
# (PoNet and FNet side by side, 10 warm-up and 30 timed steps), then a per-kernel profile of one PoNet training
# step at 16K under Nsight Compute (kernel durations only, clocks left alone).
# Usage on the device machine: bash tests/gpu/round8.sh OUT   (SKIP_PROFILE=1 skips ncu)
source tests/gpu/lib.sh
out=${1:-$OUT}
mkdir -p "$out"
t0=$(date +%s)
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
gpu_build "$out" || exit 1
echo "build $(( $(date +%s) - t0 )) s"
p=build-gpu/ponet
export PONET_RESOURCES_DIR=$PWD/resources
t=$(date +%s)
$p selftest > "$out/selftest.log" 2>&1; echo "selftest exit $? ($(( $(date +%s) - t )) s)"
grep -E "^FAIL" "$out/selftest.log" | head -20; tail -2 "$out/selftest.log"
bench() { local name=$1; shift; echo "== $name: ponet bench $*"; $p bench "$@" --json "$out/$name.json" 2>&1 | grep -vE '^\s*$' | tail -16; }
lens=512,1024,2048,4096,8192,16384
bench table2-graphs --preset lra-text --mixers ponet,fnet --lens $lens --batch 32 --device cuda --warmup 10 --steps 30 --cuda-graphs on
bench table2-eager --preset lra-text --mixers ponet,fnet --lens $lens --batch 32 --device cuda --warmup 10 --steps 30 --cuda-graphs off
echo "bench done $(( $(date +%s) - t0 )) s"
if [[ "${SKIP_PROFILE:-0}" != 1 ]] && command -v ncu >/dev/null; then
  for len in 16384; do
    echo "== ncu: ponet, lra-text, 32 x $len, 1 warm-up + 1 timed step, eager"
    timeout 110 ncu --clock-control none --metrics gpu__time_duration.sum --csv --page raw \
      $p bench --preset lra-text --mixers ponet --lens $len --batch 32 --device cuda --warmup 1 --steps 1 \
      --cuda-graphs off --no-cache > "$out/ncu-$len.csv" 2> "$out/ncu-$len.err"
    echo "ncu exit $?"
    python3 tests/gpu/ncu_summary.py "$out/ncu-$len.csv" 2 | head -40
  done
fi
echo "total $(( $(date +%s) - t0 )) s"
