#!/usr/bin/env bash
# On the GPU machine, after run-on-gpu-machine.sh built build-gpu/: the mixer race at the paper's ListOps setting
# (lra-listops: 2,048 tokens, batch 32, fp16) with PoNet, FNet and attention on one card, a few hundred steps each,
# so the Race page's claim ("accuracy competitive with attention at a fraction of the cost") is measured where the
# paper makes it. Writes each race's log and JSON summary to OUT_DIR.
# Usage: bash tests/gpu/race.sh OUT_DIR [STEPS]   (default 500 steps per mixer; ~10 evaluations of 10 dev batches)
set -uo pipefail
out=${1:-/tmp/ponet-gpu}
steps=${2:-500}
mkdir -p "$out"
ponet=build-gpu/ponet
runs=$(mktemp -d /tmp/ponet-race-runs.XXXXXX)
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader > "$out/race-card.txt" 2>&1
for length in 2048 1024; do
  echo "== race at $length tokens, $steps steps per mixer"
  "$ponet" race --preset lra-listops --device cuda --steps "$steps" --name "listops-$length" --runs-dir "$runs" \
    --set model.max_length=$length \
    --set "data.dataset=listops:train=6400,dev=640,test=640,seed=1,min_length=$((length / 4)),max_length=$((length - 1))" \
    --set train.eval_batches=10 --json "$out/race-$length.json" > "$out/race-$length.log" 2>&1
  echo "exit $?"
  sed -n '/^race /,$p' "$out/race-$length.log"
done
