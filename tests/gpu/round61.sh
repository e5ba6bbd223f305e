#!/usr/bin/env bash
# Fourteenth session, the final code: the self-test, and whole training runs that take the fixed-segment kernels
# (the tiny ListOps preset with fixed segments of 2 to 3 tokens, fp32 and bf16, the same seed) with the segment
# tables (PONET_MIX_SEGMENT_RUNS=0) and without: the losses must agree. Then the Table 2 row once.
# Usage on the device machine: bash tests/gpu/round61.sh OUT
source tests/gpu/lib.sh
out=${1:-$OUT}
gpu_round_start "$out"
selftest_cuda default
# fixed_run NAME SEGMENT_NUM PRECISION: 100 steps of tiny-listops on CUDA, the step-100 line and the last evaluation.
fixed_run() {
  timeout 120 "$p" lra --preset tiny-listops --run-dir "$out/run-$1" --set train.device=cuda \
    --set train.max_steps=100 --set train.eval_every=100 --set train.log_every=25 --set train.seed=7 \
    --set model.segment_strategy=fixed --set model.segment_num="$2" --set train.precision="$3" > "$out/run-$1.log" 2>&1
  echo "$1: exit $?"; grep -E "^step (25|50|100)/|eval dev" "$out/run-$1.log" | cut -c1-90
  rm -rf "$out/run-$1"
}
for sn in 20 12; do
  for prec in fp32 bf16; do
    export PONET_MIX_SEGMENT_RUNS=0; fixed_run tables-$sn-$prec $sn $prec; unset PONET_MIX_SEGMENT_RUNS
    fixed_run runs-$sn-$prec $sn $prec
  done
done
table2_runs 1
round_end
