#!/usr/bin/env bash
# Why the vector layout's qsum and rows kernels (and the lane-per-channel bwd_rows) sit far from the bandwidth floor:
# ncu sections (speed of light, memory, warp states, occupancy) of those kernels and of fuse for comparison, one eager
# PoNet step at 2K with every kernel in the vector layout, then with none; the Table 2 row with the default choice.
# Usage on the device machine: bash tests/gpu/round32.sh OUT
source tests/gpu/lib.sh
out=${1:-$OUT}
gpu_round_start "$out"
selftest_cuda default
for v in all 0; do
  PONET_MIX_VECTOR=$v timeout 150 ncu --clock-control none --kernel-name regex:"qsum|rows|fuse" --launch-count 3 \
    --section SpeedOfLight --section MemoryWorkloadAnalysis --section WarpStateStats --section Occupancy --section LaunchStats \
    $p bench --preset lra-text --batch 32 --device cuda --warmup 0 --steps 1 --cuda-graphs off --no-cache --mixers ponet --lens 2048 \
    > "$out/ncu-sections-$v.txt" 2> "$out/ncu-sections-$v.err"
  echo "ncu $v: $(grep -c 'Section: Warp State' "$out/ncu-sections-$v.txt") kernels profiled"
done
timeout 150 $p bench --preset lra-text --mixers ponet,fnet --lens 512,1024,2048,4096,8192,16384 --batch 32 --device cuda --warmup 10 --steps 30 \
  --no-cache --json "$out/table2.json" 2>&1 | grep -E '^(ponet|fnet) +\|' | head -2
echo "total $(( $(date +%s) - t0 )) s"
(cd "$out" && tar -czf results.tgz --remove-files *.json *.log *.err 2>/dev/null)
