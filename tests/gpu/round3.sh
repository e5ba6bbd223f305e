#!/usr/bin/env bash
# One GPU call: Table 2 with `ponet bench`, the kernel checks and mixer timings, a short ListOps run timing the
# trainer, and the data-parallel smoke test. Usage: bash tests/gpu/round3.sh OUT
out=${1:-$OUT}
STEPS=${STEPS:-10} WARMUP=${WARMUP:-3} bash tests/bench/table2.sh "$out/bench" 2>&1 | grep -v "^$" | grep -E "^==|\||steps/s|implementation|error|Error|OOM" | head -120
[ -x build-gpu/ponet ] || exit 1
PONET_GPU_BUILD=build-gpu bash tests/gpu/kernels.sh "$out/kernels" > /dev/null 2>&1
grep -E "selftest exit|passed|vs reference:|^(reference|fused) |^PoNet mixing" "$out/kernels/kernels.log"
export PONET_RESOURCES_DIR=$PWD/resources OMP_NUM_THREADS=8
t0=$(date +%s)
timeout 150 build-gpu/ponet lra --preset lra-listops --set data.dataset=listops:train=3200,dev=320,test=320,seed=0 \
  --set train.max_steps=300 --set train.warmup_steps=60 --set train.eval_every=300 --set train.eval_batches=10 \
  --set train.log_every=50 --set train.device=cuda --run-dir /tmp/listops-smoke > "$out/listops-smoke.log" 2>&1
echo "listops smoke exit $? in $(( $(date +%s) - t0 )) s"; tail -8 "$out/listops-smoke.log"
timeout 150 bash tests/gpu/ddp-smoke.sh "$out/ddp" > "$out/ddp.log" 2>&1; echo "ddp smoke exit $?"; tail -15 "$out/ddp.log"
