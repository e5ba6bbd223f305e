#!/usr/bin/env bash
# Why the mixing's row kernels run far below the memory bandwidth at 512–2K tokens: ncu sections (speed of light,
# occupancy, launch statistics, warp stall reasons, memory workload) of one layer's forward and backward mixing
# kernels in the Table 2 setting. Usage on the device machine: bash tests/gpu/round24.sh OUT
source tests/gpu/lib.sh
out=${1:-$OUT}
gpu_round_start "$out"
for len in 2048 512; do
  timeout 200 ncu --clock-control none --cache-control none -k regex:"fwd_|bwd_" --launch-skip 9 --launch-count 9 \
    --section SpeedOfLight --section Occupancy --section LaunchStats --section WarpStateStats --section SchedulerStats \
    --section MemoryWorkloadAnalysis --section SourceCounters \
    $p bench --preset lra-text --batch 32 --device cuda --warmup 1 --steps 1 --cuda-graphs off --no-cache \
    --mixers ponet --lens $len > "$out/ncu-detail-$len.txt" 2> "$out/ncu-detail-$len.err"
  echo "== $len exit $?"; grep -E "^  [a-z_:<>, 0-9]+\(|Duration|Memory Throughput|Achieved Occupancy|Registers Per|Theoretical Occupancy|Stall" "$out/ncu-detail-$len.txt" | head -5
done
echo "total $(( $(date +%s) - t0 )) s"
