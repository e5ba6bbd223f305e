#!/usr/bin/env bash
# On the GPU machine, one call (issue #10): LRA ListOps again (a longer, higher-lr schedule than the preset) side by
# side with the long-document work: pre-train a small PoNet and a small attention model with the same budget on
# the fetched corpora, then fine-tune each on Hyperpartisan (the paper's split and a de-duplicated one) and on
# Brown's 15 genres. Data: DATA_DIR from scripts/make-doc-splits.py (plus vocab.txt from `ponet data fetch
# bert-vocab`), carried along (this machine has no network).
# Usage: bash tests/gpu/reproduce-docs.sh OUT DATA_DIR     (env: PRETRAIN_STEPS, PRETRAIN_SECONDS,
#        LISTOPS_SECONDS, FINETUNE_SECONDS, SKIP_BUILD=1 to reuse build-gpu/ponet)
set -uo pipefail
source tests/gpu/lib.sh
out=${1:-${OUT:-/tmp/ponet-gpu}}
data=${2:?data dir}
mkdir -p "$out"
build=${PONET_GPU_BUILD:-build-gpu}
t0=$(date +%s)
if [[ "${SKIP_BUILD:-0}" != 1 || ! -x "$build/ponet" ]]; then
  gpu_build "$out" "$build" || exit 1
fi
echo "build $(( $(date +%s) - t0 )) s"
p=$build/ponet
runs=/tmp/ponet-docs
rm -rf "$runs"; mkdir -p "$runs"
export PONET_RESOURCES_DIR=$PWD/resources OMP_NUM_THREADS=1
stamp() { echo "$1 exit $2 wall $3 s" >> "$out/summary.txt"; }

# --- ListOps: PoNet 3 seeds, FNet and attention 1 seed, the same schedule
for job in ponet:1 ponet:2 ponet:3 fnet:1 attention:1; do
  mixer=${job%%:*}; seed=${job##*:}
  ( s=$(date +%s)
    listops_run "$p" "$runs" "$mixer" "$seed" 2000 "${LISTOPS_SECONDS:-540}" "$out/listops-$mixer-$seed.log"
    stamp "listops-$mixer-$seed" $? $(( $(date +%s) - s )) ) &
done

# --- pre-training: the same steps, batch, length and schedule for both mixers
psteps=${PRETRAIN_STEPS:-3000}
for mixer in ponet attention; do
  ( s=$(date +%s)
    docs_pretrain "$p" "$runs" "$data" "$mixer" "$psteps" 5e-4 "${PRETRAIN_SECONDS:-230}" "$out/pretrain-$mixer.log"
    stamp "pretrain-$mixer" $? $(( $(date +%s) - s )) ) &
  pids+=($!)
done
wait "${pids[@]}"
echo "pre-training done at $(( $(date +%s) - t0 )) s"

# --- fine-tuning from each pre-trained model, two seeds
finetune() {  # name mixer seed split-dir epochs lr
  local name=$1 mixer=$2 seed=$3
  ( s=$(date +%s)
    docs_finetune "$p" "$runs" "$data" "$@" "${FINETUNE_SECONDS:-200}" "$out/$name-$mixer-$seed.log"
    stamp "$name-$mixer-$seed" $? $(( $(date +%s) - s )) ) &
}
for mixer in ponet attention; do
  for seed in 1 2; do
    finetune hp-paper $mixer $seed hp-paper 10 1e-4
    finetune hp-dedup $mixer $seed hp-dedup 10 1e-4
    finetune brown $mixer $seed brown 20 2e-4
  done
done
wait
echo "all done at $(( $(date +%s) - t0 )) s"
cat "$out/summary.txt"
for f in "$out"/pretrain-*.log; do echo "== $(basename "$f" .log)"; grep -E "^step|eval dev" "$f" | tail -3; done
for f in "$out"/listops-*.log "$out"/hp-*.log "$out"/brown-*.log; do
  echo "== $(basename "$f" .log)"; grep -E "eval test|best|error" "$f" | tail -3
done
# the curves and configs (small files) for docs/RESULTS.md
tar -C "$runs" -czf "$out/runs.tgz" --exclude=checkpoints --exclude='*.safetensors' . 2>/dev/null
ls -la "$out/runs.tgz"
