#!/usr/bin/env bash
# The vector layout (core/kernels/cuda/ponet_mixing_vec_kernels.cu: 8 channels per lane, whole rows per 16-byte
# load) against the lane-per-channel kernels (PONET_MIX_VECTOR=0): build, `ponet selftest --device cuda` both ways,
# the Table 2 row (PoNet both ways, FNet), the mixing alone both ways, ncu per-kernel times of one eager step at 2K.
# Usage on the device machine: bash tests/gpu/round30.sh OUT
source tests/gpu/lib.sh
out=${1:-$OUT}
gpu_round_start "$out"
p=build-gpu/ponet
export PONET_RESOURCES_DIR=$PWD/resources
lens=512,1024,2048,4096,8192,16384
bench() { local name=$1; shift; echo "== $name: ponet bench $*"; timeout 150 $p bench "$@" --no-cache --json "$out/$name.json" 2>&1 |
  grep -vE '^\s*$|^median of|^memory:|^device:|^  [a-z]+ at [0-9]+: [0-9.]+ steps|^ponet bench:|^wrote' | tail -6; }
for v in 1 0; do
  t=$(date +%s); PONET_MIX_VECTOR=$v timeout 150 $p selftest --device cuda --verbose > "$out/selftest-v$v.log" 2>&1
  echo "selftest PONET_MIX_VECTOR=$v exit $? ($(( $(date +%s) - t )) s)"; grep -E "^FAIL" "$out/selftest-v$v.log" | head -20
  tail -1 "$out/selftest-v$v.log"; grep -E "mixing, bf16, long|packed.*bf16, long" "$out/selftest-v$v.log" | head -4
done
bench table2 --preset lra-text --mixers ponet,fnet --lens $lens --batch 32 --device cuda --warmup 10 --steps 30
PONET_MIX_VECTOR=0 bench table2-lane --preset lra-text --mixers ponet --lens $lens --batch 32 --device cuda --warmup 10 --steps 30
bench table2-again --preset lra-text --mixers ponet,fnet --lens $lens --batch 32 --device cuda --warmup 10 --steps 30
echo "== bench-mixer (vector, then lane-per-channel)"
for shape in "--batch 32 --length 2048 --hidden 64 --heads 2" "--batch 32 --length 16384 --hidden 64 --heads 2"; do
  for v in 1 0; do PONET_MIX_VECTOR=$v timeout 60 $p bench-mixer --device cuda $shape --dtype bf16 --iters 20 2>&1 | tail -2 | sed "s/^/v$v /"; done
done
for len in 2048; do
  timeout 100 ncu --clock-control none --metrics gpu__time_duration.sum --csv --page raw \
    $p bench --preset lra-text --batch 32 --device cuda --warmup 1 --steps 1 --cuda-graphs off --no-cache --mixers ponet --lens $len \
    > "$out/ncu-ponet-$len.csv" 2> "$out/ncu-ponet-$len.err"
  python3 tests/gpu/ncu_summary.py "$out/ncu-ponet-$len.csv" 2 > "$out/ncu-ponet-$len.txt"; grep -E "ponet::" "$out/ncu-ponet-$len.txt" | head -14
done
echo "total $(( $(date +%s) - t0 )) s"
(cd "$out" && tar -czf results.tgz --remove-files *.json *.log *.txt *.csv *.err 2>/dev/null)
