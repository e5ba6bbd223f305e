#!/usr/bin/env bash
# On the GPU machine, after run-on-gpu-machine.sh built build-gpu/: short LRA ListOps runs on CUDA with the
# preset's fp16 (dynamic loss scaling) and with bf16 autocast, plus one on the CPU, to exercise the trainer's
# device and mixed-precision paths. Usage: bash tests/gpu/train-smoke.sh OUT_DIR
set -uo pipefail
out=${1:-/tmp/ponet-gpu}
mkdir -p "$out"
ponet=build-gpu/ponet
common=(--preset lra-listops --set data.dataset=listops:train=3200,dev=320,test=320,seed=1
        --set train.max_steps=300 --set train.warmup_steps=60 --set train.eval_every=150 --set train.eval_batches=10 --set train.checkpoint_every=150)
for precision in fp16 bf16; do
  echo "== cuda $precision"
  "$ponet" lra "${common[@]}" --set train.device=cuda --set train.precision=$precision \
    --run-dir "/tmp/smoke-$precision" > "$out/train-cuda-$precision.log" 2>&1
  echo "exit $?"; tail -4 "$out/train-cuda-$precision.log"
done
echo "== resume of the bf16 run (must find it finished)"
"$ponet" resume /tmp/smoke-bf16 2>&1 | tail -2; echo "exit $?"
"$ponet" runs --dir /tmp 2>&1 | head -5
echo "== cuda bf16 with gradient checkpointing (same run, must give the same losses as the plain bf16 run)"
"$ponet" lra "${common[@]}" --set train.device=cuda --set train.precision=bf16 --set train.grad_checkpointing=true \
  --run-dir /tmp/smoke-bf16-ckpt > "$out/train-cuda-bf16-ckpt.log" 2>&1
echo "exit $?"; tail -3 "$out/train-cuda-bf16-ckpt.log"
grep -E "^step (100|200|300)/" "/tmp/smoke-bf16/log.txt" "$out/train-cuda-bf16.log" 2>/dev/null | head -3
grep -E "^step (100|200|300)/" "$out/train-cuda-bf16-ckpt.log" | head -3
