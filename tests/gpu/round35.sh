#!/usr/bin/env bash
# Tried and reverted: the segment id read one step ahead in the vector fuse and rows kernels, so the segment-maxima
# lookup starts with the step's other loads (per-kernel times at 2K unchanged: rows 70 vs 67 µs, fuse 41.5 vs 41).
# Build, the self-test all vector and none, ncu per kernel at 2K, the Table 2 row (all, default, none, default again)
# with FNet. Usage on the device machine: bash tests/gpu/round35.sh OUT
source tests/gpu/lib.sh
out=${1:-$OUT}
gpu_round_start "$out"
p=build-gpu/ponet
export PONET_RESOURCES_DIR=$PWD/resources
lens=512,1024,2048,4096,8192,16384
bench() { local name=$1; shift; echo "== $name: ponet bench $*"; timeout 150 $p bench "$@" --no-cache --json "$out/$name.json" 2>&1 |
  grep -E '^(ponet|fnet) +\|' | head -2; }
for v in all 0; do
  t=$(date +%s); PONET_MIX_VECTOR=$v timeout 150 $p selftest --device cuda --verbose > "$out/selftest-$v.log" 2>&1
  echo "selftest PONET_MIX_VECTOR=$v exit $? ($(( $(date +%s) - t )) s)"; grep -E "^FAIL" "$out/selftest-$v.log" | head -20
  tail -1 "$out/selftest-$v.log"
done
for v in all 0; do
  PONET_MIX_VECTOR=$v timeout 100 ncu --clock-control none --metrics gpu__time_duration.sum --csv --page raw \
    $p bench --preset lra-text --batch 32 --device cuda --warmup 1 --steps 1 --cuda-graphs off --no-cache --mixers ponet --lens 2048 \
    > "$out/ncu-$v-2048.csv" 2> "$out/ncu-$v-2048.err"
  python3 tests/gpu/ncu_summary.py "$out/ncu-$v-2048.csv" 2 > "$out/ncu-$v-2048.txt"; echo "-- ncu $v"; grep -E "(ponet|vec)::" "$out/ncu-$v-2048.txt" | head -7
done
PONET_MIX_VECTOR=all bench table2-all --preset lra-text --mixers ponet,fnet --lens $lens --batch 32 --device cuda --warmup 10 --steps 30
bench table2-default --preset lra-text --mixers ponet,fnet --lens $lens --batch 32 --device cuda --warmup 10 --steps 30
PONET_MIX_VECTOR=0 bench table2-lane --preset lra-text --mixers ponet --lens $lens --batch 32 --device cuda --warmup 10 --steps 30
bench table2-again --preset lra-text --mixers ponet,fnet --lens $lens --batch 32 --device cuda --warmup 10 --steps 30
echo "total $(( $(date +%s) - t0 )) s"
(cd "$out" && tar -czf results.tgz --remove-files *.json *.log *.csv *.err 2>/dev/null)
