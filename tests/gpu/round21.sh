#!/usr/bin/env bash
# Training with the packed projections on CUDA: build, the trainer smoke runs (fp16 with loss scaling, bf16,
# resume, gradient checkpointing), then the same 300-step ListOps run in fp32 and bf16 with packed and with
# separate projections (PONET_PACKED_PROJECTIONS=0), their losses side by side.
# Usage on the device machine: bash tests/gpu/round21.sh OUT
source tests/gpu/lib.sh
out=${1:-$OUT}
gpu_round_start "$out"
export PONET_RESOURCES_DIR=$PWD/resources
timeout 200 bash tests/gpu/train-smoke.sh "$out"
common=(--preset lra-listops --set data.dataset=listops:train=3200,dev=320,test=320,seed=1
        --set train.max_steps=300 --set train.warmup_steps=60 --set train.eval_every=150 --set train.eval_batches=10
        --set train.checkpoint_every=1000 --set train.log_every=50 --set train.device=cuda --set train.seed=3)
for precision in fp32 bf16; do
  for packed in 1 0; do
    PONET_PACKED_PROJECTIONS=$packed timeout 90 build-gpu/ponet lra "${common[@]}" --set train.precision=$precision \
      --run-dir "/tmp/cmp-$precision-$packed" > "$out/cmp-$precision-$packed.log" 2>&1
    echo "== $precision packed=$packed exit $?"; grep -E "^step (50|150|300)/" "$out/cmp-$precision-$packed.log" | head -3; tail -2 "$out/cmp-$precision-$packed.log"
  done
done
echo "total $(( $(date +%s) - t0 )) s"
(cd "$out" && tar -czf results.tgz --remove-files *.log 2>/dev/null)
