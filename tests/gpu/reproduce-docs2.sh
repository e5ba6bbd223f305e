#!/usr/bin/env bash
# The second half of the long-document reproduction (after tests/gpu/round11.sh pre-trained a PoNet and an attention
# model with the same steps, kept under build-gpu/docs-runs on the same warm machine): fine-tune each on
# Hyperpartisan (the paper's split and the de-duplicated one) and Brown's 15 genres, three seeds; beside them,
# ListOps again with the schedule of the last round and a 10,000-example test set (the first 2,000 are the earlier
# test set) to measure how much of the gap to the paper is the one 2,000-example draw.
# Usage: bash tests/gpu/reproduce-docs2.sh OUT DATA_DIR
set -uo pipefail
source tests/gpu/lib.sh
out=${1:-${OUT:-/tmp/ponet-gpu}}
data=${2:?data dir}
mkdir -p "$out"
p=build-gpu/ponet
runs=$PWD/build-gpu/docs-runs
[ -x "$p" ] && [ -d "$runs/pretrain-ponet" ] || { echo "run tests/gpu/round11.sh first on this machine"; exit 1; }
export PONET_RESOURCES_DIR=$PWD/resources OMP_NUM_THREADS=1
t0=$(date +%s)
stamp() { echo "$1 exit $2 wall $3 s" >> "$out/summary.txt"; }
for job in ponet:1 ponet:2 ponet:3 fnet:1 attention:1; do
  mixer=${job%%:*}; seed=${job##*:}
  ( s=$(date +%s)
    listops_run "$p" "$runs" "$mixer" "$seed" 10000 "${LISTOPS_SECONDS:-540}" "$out/listops-$mixer-$seed.log"
    stamp "listops-$mixer-$seed" $? $(( $(date +%s) - s )) ) &
done
finetune() {  # name mixer seed split-dir epochs lr
  local name=$1 mixer=$2 seed=$3
  ( s=$(date +%s)
    docs_finetune "$p" "$runs" "$data" "$@" "${FINETUNE_SECONDS:-300}" "$out/$name-$mixer-$seed.log"
    stamp "$name-$mixer-$seed" $? $(( $(date +%s) - s )) ) &
}
for mixer in ponet attention; do
  for seed in 1 2 3; do
    finetune hp-paper $mixer $seed hp-paper 10 1e-4
    finetune hp-dedup $mixer $seed hp-dedup 10 1e-4
    finetune brown $mixer $seed brown 20 2e-4
  done
done
wait
echo "all done at $(( $(date +%s) - t0 )) s"
sort "$out/summary.txt"
for f in "$out"/*.log; do
  echo "== $(basename "$f" .log) $(grep -E "eval test" "$f" | tail -1 | sed 's/.*eval test @ step/test@/') | $(grep -E "run finished after" "$f" | tail -1 | sed 's/run finished after //')"
done
# curves for docs/RESULTS.md (metrics and configs only)
tar -C "$runs" -czf "$out/runs.tgz" --exclude=checkpoints --exclude='*.safetensors' --exclude='*.bin' . 2>/dev/null
(cd "$out" && tar -czf logs.tgz --remove-files *.log summary.txt 2>/dev/null)
ls -la "$out"
