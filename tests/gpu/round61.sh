#!/usr/bin/env bash
# Fourteenth session, the final code: the self-test, and whole training runs that take the fixed-segment kernels
# (the tiny ListOps preset with fixed segments of 2 to 3 tokens, fp32 and bf16, the same seed) with the segment
# tables (PONET_MIX_SEGMENT_RUNS=0) and without: the losses must agree. Then the Table 2 row once.
# Usage on the device machine: bash tests/gpu/round61.sh OUT
source tests/gpu/lib.sh
out=${1:-$OUT}
gpu_round_start "$out"
selftest_cuda default
for sn in 20 12; do
  for prec in fp32 bf16; do
    export PONET_MIX_SEGMENT_RUNS=0; fixed_run tables-$sn-$prec $sn $prec; unset PONET_MIX_SEGMENT_RUNS
    fixed_run runs-$sn-$prec $sn $prec
  done
done
table2_runs 1
round_end
