#!/usr/bin/env bash
# The vector layout after round30 (segment maxima looked up once per segment, per-block bias-gradient sums, the
# segment flushes moved back to the lane-per-channel layout): build, the self-test both ways, ncu per-kernel times of
# one eager step at 2K both ways, the Table 2 row with all kernels in the vector layout, with none, and FNet.
# PONET_MIX_VECTOR picks the kernels (core/kernels/cuda/ponet_mixing_vec.h). Usage: bash tests/gpu/round31.sh OUT
source tests/gpu/lib.sh
out=${1:-$OUT}
gpu_round_start "$out"
p=build-gpu/ponet
export PONET_RESOURCES_DIR=$PWD/resources
lens=512,1024,2048,4096,8192,16384
bench() { local name=$1; shift; echo "== $name: ponet bench $*"; timeout 150 $p bench "$@" --no-cache --json "$out/$name.json" 2>&1 |
  grep -E '^(ponet|fnet) +\|' | head -2; }
for v in 1 0; do
  t=$(date +%s); PONET_MIX_VECTOR=$v timeout 150 $p selftest --device cuda --verbose > "$out/selftest-v$v.log" 2>&1
  echo "selftest PONET_MIX_VECTOR=$v exit $? ($(( $(date +%s) - t )) s)"; grep -E "^FAIL" "$out/selftest-v$v.log" | head -20
  tail -1 "$out/selftest-v$v.log"
done
for v in 1 0; do
  PONET_MIX_VECTOR=$v timeout 100 ncu --clock-control none --metrics gpu__time_duration.sum --csv --page raw \
    $p bench --preset lra-text --batch 32 --device cuda --warmup 1 --steps 1 --cuda-graphs off --no-cache --mixers ponet --lens 2048 \
    > "$out/ncu-v$v-2048.csv" 2> "$out/ncu-v$v-2048.err"
  python3 tests/gpu/ncu_summary.py "$out/ncu-v$v-2048.csv" 2 > "$out/ncu-v$v-2048.txt"; echo "-- ncu v$v"; grep -E "(ponet|vec)::" "$out/ncu-v$v-2048.txt" | head -12
done
bench table2 --preset lra-text --mixers ponet,fnet --lens $lens --batch 32 --device cuda --warmup 10 --steps 30
PONET_MIX_VECTOR=0 bench table2-lane --preset lra-text --mixers ponet --lens $lens --batch 32 --device cuda --warmup 10 --steps 30
PONET_MIX_VECTOR=scores,fuse,keys,qs bench table2-hybrid --preset lra-text --mixers ponet --lens $lens --batch 32 --device cuda --warmup 10 --steps 30
echo "total $(( $(date +%s) - t0 )) s"
(cd "$out" && tar -czf results.tgz --remove-files *.json *.log *.txt *.csv *.err 2>/dev/null)
