#!/usr/bin/env bash
# On the GPU machine, one call (issue #10): LRA ListOps again (a longer, higher-lr schedule than the preset) side by
# side with the long-document work: pre-train a small PoNet and a small attention model with the same budget on
# the fetched corpora, then fine-tune each on Hyperpartisan (the paper's split and a de-duplicated one) and on
# Brown's 15 genres. Data: DATA_DIR from scripts/make-doc-splits.py (plus vocab.txt from `ponet data fetch
# bert-vocab`), carried along (this machine has no network).
# Usage: bash tests/gpu/reproduce-docs.sh OUT DATA_DIR     (env: PRETRAIN_STEPS, PRETRAIN_SECONDS, LISTOPS_STEPS,
#        LISTOPS_SECONDS, SKIP_BUILD=1 to reuse build-gpu/ponet)
set -uo pipefail
out=${1:-${OUT:-/tmp/ponet-gpu}}
data=${2:?data dir}
mkdir -p "$out"
build=${PONET_GPU_BUILD:-build-gpu}
t0=$(date +%s)
if [[ "${SKIP_BUILD:-0}" != 1 || ! -x "$build/ponet" ]]; then
  prefix=$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DPONET_BUILD_GUI=OFF -DPONET_BUILD_TESTS=OFF \
        -DCMAKE_PREFIX_PATH="$prefix" -DPONET_WITH_CUDA=ON -DPONET_CUDA_ARCHITECTURES=90 -DCMAKE_CUDA_ARCHITECTURES=90 \
        > "$out/configure.log" 2>&1 || { tail -30 "$out/configure.log"; exit 1; }
  cmake --build "$build" --target ponet -j16 > "$out/build.log" 2>&1 || { grep -E "error" -A3 "$out/build.log" | head -40; exit 1; }
fi
echo "build $(( $(date +%s) - t0 )) s"
p=$build/ponet
runs=/tmp/ponet-docs
rm -rf "$runs"; mkdir -p "$runs"
export PONET_RESOURCES_DIR=$PWD/resources OMP_NUM_THREADS=1
stamp() { echo "$1 exit $2 wall $3 s" >> "$out/summary.txt"; }

# --- ListOps: PoNet 3 seeds, FNet and attention 1 seed, the same schedule
lsteps=${LISTOPS_STEPS:-6000}
for job in ponet:1 ponet:2 ponet:3 fnet:1 attention:1; do
  mixer=${job%%:*}; seed=${job##*:}
  ( s=$(date +%s)
    timeout -s INT "${LISTOPS_SECONDS:-540}" $p lra --preset lra-listops \
      --set data.dataset=listops:train=96000,dev=2000,test=2000,seed=0 --set train.device=cuda \
      --set train.max_steps=$lsteps --set train.warmup_steps=$(( lsteps / 5 )) --set train.lr=5e-4 \
      --set train.eval_every=250 --set train.checkpoint_every=100000 --set train.log_every=250 \
      --set train.seed=$seed --set model.mixer=$mixer --run-dir "$runs/listops-$mixer-$seed" \
      > "$out/listops-$mixer-$seed.log" 2>&1
    stamp "listops-$mixer-$seed" $? $(( $(date +%s) - s )) ) &
done

# --- pre-training: the same steps, batch, length and schedule for both mixers
psteps=${PRETRAIN_STEPS:-3000}
for mixer in ponet attention; do
  ( s=$(date +%s)
    timeout -s INT "${PRETRAIN_SECONDS:-230}" $p pretrain --preset small --set "data.train=$data/pretrain.jsonl" \
      --set data.label_field= --set "data.tokenizer=$data/vocab.txt" --set model.max_length=1024 \
      --set model.mixer=$mixer --set train.device=cuda --set train.precision=bf16 --set train.batch_size=32 \
      --set train.max_steps=$psteps --set train.warmup_steps=$(( psteps / 10 )) --set train.lr=5e-4 \
      --set train.eval_every=500 --set train.eval_batches=20 --set train.checkpoint_every=500 \
      --set train.log_every=100 --set train.seed=1 --run-dir "$runs/pretrain-$mixer" > "$out/pretrain-$mixer.log" 2>&1
    stamp "pretrain-$mixer" $? $(( $(date +%s) - s )) ) &
  pids+=($!)
done
wait "${pids[@]}"
echo "pre-training done at $(( $(date +%s) - t0 )) s"

# --- fine-tuning from each pre-trained model, two seeds
finetune() {  # name mixer seed split-dir epochs lr
  local name=$1 mixer=$2 seed=$3 dir=$4 epochs=$5 lr=$6
  ( s=$(date +%s)
    timeout -s INT "${FINETUNE_SECONDS:-200}" $p finetune --set "model.init_checkpoint=$runs/pretrain-$mixer" \
      --set "data.train=$data/$dir/train.jsonl" --set "data.validation=$data/$dir/dev.jsonl" \
      --set "data.test=$data/$dir/test.jsonl" --set "data.tokenizer=$data/vocab.txt" --set model.max_length=1024 \
      --set train.device=cuda --set train.precision=bf16 --set train.batch_size=16 --set train.epochs=$epochs \
      --set train.lr=$lr --set train.warmup_steps=30 --set train.weight_decay=0.01 --set train.eval_every=30 \
      --set train.checkpoint_every=100000 --set train.log_every=30 --set train.seed=$seed \
      --run-dir "$runs/$name-$mixer-$seed" > "$out/$name-$mixer-$seed.log" 2>&1
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
