#!/usr/bin/env bash
# Twelfth session, for the next round of work on #5: where the backward row pass (18–20 µs per launch at 512
# tokens, about 3.5× its bytes at the floor) and the fusion and key passes lose their time (ncu's speed-of-light,
# warp-state, occupancy and memory sections of one launch each), and whether a CUDA graph at 8K (above the
# automatic limit) is faster or steadier than the eager step (PoNet and FNet, `--cuda-graphs on` against `off`,
# three runs each).
# Usage on the device machine: bash tests/gpu/round52.sh OUT
source tests/gpu/lib.sh
out=${1:-$OUT}
gpu_round_start "$out"
for k in rows_kernel fuse_kernel keys_kernel; do
  echo "== ncu sections: $k at 512 tokens"
  timeout 120 ncu --clock-control none --kernel-name "regex:$k" --launch-skip 2 --launch-count 1 \
    --section SpeedOfLight --section WarpStateStats --section Occupancy --section LaunchStats \
    --section MemoryWorkloadAnalysis "$p" bench --preset lra-text --batch 32 --device cuda --warmup 1 --steps 1 \
    --cuda-graphs off --no-cache --mixers ponet --lens 512 > "$out/ncu-sections-$k.txt" 2>&1
  grep -E "Duration|Memory Throughput|DRAM Throughput|Achieved Occupancy|Theoretical Occupancy|Registers Per|Warp Cycles Per Issued|Stall|L2 Hit|Block Limit" \
    "$out/ncu-sections-$k.txt" | head -24
done
for g in off on; do
  for i in 1 2 3; do
    bench graph8k-$g-$i --preset lra-text --mixers ponet,fnet --lens 8192 --batch 32 --device cuda --warmup 10 \
      --steps 30 --cuda-graphs $g
  done
done
(cd "$out" && tar -czf ncu-sections.tgz ncu-sections-*.txt && rm -f ncu-sections-*.txt)
round_end
