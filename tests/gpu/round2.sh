#!/usr/bin/env bash
# One GPU call: Table 2 with `ponet bench`, the mixer-only timings and self-test (kernels.sh), and a short ListOps
# training run to time the trainer itself. Usage: bash tests/gpu/round2.sh OUT
out=${1:-$OUT}
STEPS=${STEPS:-20} WARMUP=${WARMUP:-5} bash tests/bench/table2.sh "$out/bench"
PONET_GPU_BUILD=build-gpu bash tests/gpu/kernels.sh "$out/kernels" > /dev/null 2>&1
grep -E "selftest exit|passed|vs reference:|^(reference|fused) " "$out/kernels/kernels.log"
export PONET_RESOURCES_DIR=$PWD/resources OMP_NUM_THREADS=8
t0=$(date +%s)
timeout 150 build-gpu/ponet lra --preset lra-listops --set data.dataset=listops:train=3200,dev=320,test=320,seed=0 \
  --set train.max_steps=300 --set train.warmup_steps=60 --set train.eval_every=300 --set train.eval_batches=10 --set train.log_every=50 \
  --set train.device=cuda --run-dir /tmp/listops-smoke > "$out/listops-smoke.log" 2>&1
echo "listops smoke exit $? in $(( $(date +%s) - t0 )) s"; grep -E "tok/s|tokens/s|steps/s|accuracy" "$out/listops-smoke.log" | tail -6
