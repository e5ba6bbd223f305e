#!/usr/bin/env bash
# The trainer with each step's numbers kept on the device (train.metrics_sync=log, the CUDA default) against reading
# them back every step (step): the same ListOps runs, one at a time on the GPU, in bf16 (fp16 loss scaling reads
# every step anyway), at 2,048 and 512 tokens, each mode twice in alternation to show the noise. Steps/s come from
# each run's own clock between its second and last step reports (data generation and start-up do not count).
# Usage on the device machine: bash tests/gpu/round16.sh OUT
set -uo pipefail
source tests/gpu/lib.sh
out=${1:-$OUT}
mkdir -p "$out"
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
gpu_build "$out" || exit 1
p=build-gpu/ponet
export PONET_RESOURCES_DIR=$PWD/resources
"$p" selftest --device cuda > "$out/selftest.log" 2>&1; echo "selftest exit $?: $(tail -1 "$out/selftest.log")"
rate() {  # steps/s between the second and the last step report of a run's metrics.jsonl, and its last loss
  python3 - "$1" <<'PY'
import json, sys
steps = [r for r in map(json.loads, open(sys.argv[1])) if r.get('event') == 'step']
a, b = steps[1], steps[-1]
print(f"{(b['step'] - a['step']) / (b['elapsed_seconds'] - a['elapsed_seconds']):.1f} steps/s, last loss {b['loss']:.4f}")
PY
}
for len in 2048 512; do
  for round in 1 2; do
    for sync in step log; do
      run=/tmp/round16/$len-$sync-$round
      rm -rf "$run"
      "$p" lra --preset lra-listops --set data.dataset=listops:train=20000,dev=500,test=500,seed=0 \
        --set model.max_length=$len --set train.device=cuda --set train.precision=bf16 --set train.max_steps=1500 \
        --set train.warmup_steps=300 --set train.lr=5e-4 --set train.eval_every=100000 --set train.log_every=100 \
        --set train.checkpoint_every=100000 --set train.metrics_sync=$sync --set train.seed=1 \
        --run-dir "$run" > "$out/$len-$sync-$round.log" 2>&1
      echo "length $len, metrics_sync=$sync (round $round): $(rate "$run/metrics.jsonl")"
    done
  done
done
(cd "$out" && tar -czf logs.tgz --remove-files ./*.log 2>/dev/null)
