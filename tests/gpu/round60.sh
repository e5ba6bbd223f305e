#!/usr/bin/env bash
# Fourteenth session: fixed segments of other widths up to 8 tokens (LRA text at 8K: 3, at 16K: 5) also skip the
# segment tables, each row reading its segment's rows again (vec::kLoadRunsMax). The self-test, the Table 2 row,
# the 8K and 16K cells with the tables (PONET_MIX_SEGMENT_RUNS=0) and without, alternating, and the 8K step's kernels.
# Usage on the device machine: bash tests/gpu/round60.sh OUT
source tests/gpu/lib.sh
out=${1:-$OUT}
gpu_round_start "$out"
selftest_cuda default
grep -E "long rows" "$out/selftest-default.log"
table2_runs 1
for i in 1 2; do
  export PONET_MIX_SEGMENT_RUNS=0
  bench runs-off-$i --preset lra-text --mixers ponet --lens 8192,16384 --batch 32 --device cuda --warmup 10 --steps 30
  unset PONET_MIX_SEGMENT_RUNS
  bench runs-on-$i --preset lra-text --mixers ponet --lens 8192,16384 --batch 32 --device cuda --warmup 10 --steps 30
done
long_rows
NCU_CACHE=none ncu_step ponet8192 8192 ponet
round_end
