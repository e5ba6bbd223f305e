#!/usr/bin/env bash
# Fourteenth session: fixed segments of 2 or 4 tokens (LRA text from 4,096 to 8,191 and from 12,288 to 16,383
# tokens) skip the segment tables as a segment per token did (Problem::seg_width). The self-test, the Table 2 row,
# the 4K and 12K cells with the tables (PONET_MIX_SEGMENT_RUNS=0) and without, alternating, and the 4K step's
# kernels.
# Usage on the device machine: bash tests/gpu/round59.sh OUT
source tests/gpu/lib.sh
out=${1:-$OUT}
gpu_round_start "$out"
selftest_cuda default
grep -E "long rows" "$out/selftest-default.log"
table2_runs 1
for i in 1 2; do
  export PONET_MIX_SEGMENT_RUNS=0
  bench runs-off-$i --preset lra-text --mixers ponet --lens 4096,12288 --batch 32 --device cuda --warmup 10 --steps 30
  unset PONET_MIX_SEGMENT_RUNS
  bench runs-on-$i --preset lra-text --mixers ponet --lens 4096,12288 --batch 32 --device cuda --warmup 10 --steps 30
done
NCU_CACHE=none ncu_step ponet4096 4096 ponet
round_end
