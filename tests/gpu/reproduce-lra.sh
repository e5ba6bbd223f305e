#!/usr/bin/env bash
# On the GPU machine: LRA ListOps as the paper ran it (lra-listops preset: 2,048 tokens, batch 32, OneCycleLR,
# 5,000 steps, fp16), PoNet with three seeds and FNet and attention with one, all five runs side by side on the
# one GPU. The generated data is the same for every run (data seed 0: 96,000 / 2,000 / 2,000 examples as LRA).
# Evaluation every 250 steps instead of 50 (to fit the GPU time; the best dev checkpoint is still the one tested).
# Usage: [LRA_RUNS="ponet-s1 fnet-s1 ..."] bash tests/gpu/reproduce-lra.sh [OUT_DIR] [MAX_STEPS]
set -uo pipefail
out=${1:-${OUT:-/tmp/ponet-gpu}}
steps=${2:-5000}
mkdir -p "$out"
build=${PONET_GPU_BUILD:-build-gpu}
[ -x "$build/ponet" ] || { echo "build $build/ponet first (tests/gpu/kernels.sh)"; exit 1; }
runs=/tmp/ponet-lra-runs
rm -rf "$runs"; mkdir -p "$runs"
export PONET_RESOURCES_DIR=$PWD/resources OMP_NUM_THREADS=3
data="listops:train=96000,dev=2000,test=2000,seed=0"
launch() {  # name, extra --set options...
  local name=$1; shift
  ( start=$(date +%s)
    timeout "${PONET_RUN_LIMIT:-560}" "$build/ponet" lra --preset lra-listops --set "data.dataset=$data" \
      --set train.eval_every=250 --set train.checkpoint_every=1000 --set train.device=cuda \
      --set train.max_steps="$steps" --set train.log_every=100 "$@" --run-dir "$runs/$name" > "$out/$name.log" 2>&1
    echo "$name exit $? wall $(( $(date +%s) - start )) s" >> "$out/summary.txt" ) &
}
# LRA_RUNS: which of the five runs (MIXER-sSEED), all by default.
for run in ${LRA_RUNS:-ponet-s1 ponet-s2 ponet-s3 fnet-s1 attention-s1}; do
  launch "listops-$run" --set train.seed="${run##*-s}" --set model.mixer="${run%-s*}"
done
wait
for r in "$runs"/*; do
  n=$(basename "$r"); mkdir -p "$out/runs/$n"
  cp "$r"/config.json "$r"/metrics.jsonl "$r"/log.txt "$out/runs/$n/" 2>/dev/null
done
cat "$out/summary.txt"
grep -h -i -E "test (accuracy|loss)|best" "$out"/listops-*.log | tail -20
