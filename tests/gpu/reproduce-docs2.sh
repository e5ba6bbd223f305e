#!/usr/bin/env bash
# The second half of the long-document reproduction (after tests/gpu/round11.sh pre-trained a PoNet and an attention
# model with the same steps, kept under build-gpu/docs-runs on the same warm machine): fine-tune each on
# Hyperpartisan (the paper's split and the de-duplicated one) and Brown's 15 genres, three seeds; beside them,
# ListOps again with the schedule of the last round and a 10,000-example test set (the first 2,000 are the earlier
# test set) to measure how much of the gap to the paper is the one 2,000-example draw.
# Usage: bash tests/gpu/reproduce-docs2.sh OUT DATA_DIR
set -uo pipefail
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
    timeout -s INT "${LISTOPS_SECONDS:-540}" $p lra --preset lra-listops \
      --set data.dataset=listops:train=96000,dev=2000,test=10000,seed=0 --set train.device=cuda \
      --set train.max_steps=6000 --set train.warmup_steps=1200 --set train.lr=5e-4 \
      --set train.eval_every=250 --set train.checkpoint_every=100000 --set train.log_every=250 \
      --set train.seed=$seed --set model.mixer=$mixer --run-dir "$runs/listops-$mixer-$seed" \
      > "$out/listops-$mixer-$seed.log" 2>&1
    stamp "listops-$mixer-$seed" $? $(( $(date +%s) - s )) ) &
done
finetune() {  # name mixer seed split-dir epochs lr
  local name=$1 mixer=$2 seed=$3 dir=$4 epochs=$5 lr=$6
  ( s=$(date +%s)
    timeout -s INT "${FINETUNE_SECONDS:-300}" $p finetune --set "model.init_checkpoint=$runs/pretrain-$mixer" \
      --set "data.train=$data/$dir/train.jsonl" --set "data.validation=$data/$dir/dev.jsonl" \
      --set "data.test=$data/$dir/test.jsonl" --set "data.tokenizer=$data/vocab.txt" --set model.max_length=1024 \
      --set train.device=cuda --set train.precision=bf16 --set train.batch_size=16 --set train.epochs=$epochs \
      --set train.lr=$lr --set train.warmup_steps=30 --set train.weight_decay=0.01 --set train.eval_every=30 \
      --set train.checkpoint_every=100000 --set train.log_every=30 --set train.seed=$seed \
      --run-dir "$runs/$name-$mixer-$seed" > "$out/$name-$mixer-$seed.log" 2>&1
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
