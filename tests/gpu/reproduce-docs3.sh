#!/usr/bin/env bash
# The long-document reproduction with a gentler pre-training learning rate (1e-4 instead of 5e-4, for both mixers:
# at 5e-4 the post-LN attention model's MLM had not left the frequent-token plateau after 2,000 steps), then the
# same fine-tuning as tests/gpu/reproduce-docs2.sh (three seeds, Hyperpartisan paper + de-duplicated split, Brown).
# Usage: bash tests/gpu/reproduce-docs3.sh OUT DATA_DIR
set -uo pipefail
out=${1:-${OUT:-/tmp/ponet-gpu}}
data=${2:?data dir}
mkdir -p "$out"
prefix=$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')
t0=$(date +%s)
cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DPONET_BUILD_GUI=OFF -DPONET_BUILD_TESTS=OFF \
      -DCMAKE_PREFIX_PATH="$prefix" -DPONET_WITH_CUDA=ON -DPONET_CUDA_ARCHITECTURES=90 -DCMAKE_CUDA_ARCHITECTURES=90 \
      > "$out/configure.log" 2>&1 || { tail -30 "$out/configure.log"; exit 1; }
cmake --build build-gpu --target ponet -j16 > "$out/build.log" 2>&1 || { grep -E "error" -A3 "$out/build.log" | head -40; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
p=build-gpu/ponet
runs=$PWD/build-gpu/docs3-runs; rm -rf "$runs"; mkdir -p "$runs"
export PONET_RESOURCES_DIR=$PWD/resources OMP_NUM_THREADS=1
stamp() { echo "$1 exit $2 wall $3 s" >> "$out/summary.txt"; }
for mixer in ponet attention; do
  ( s=$(date +%s)
    timeout -s INT 280 $p pretrain --preset small --set "data.train=$data/pretrain.jsonl" \
      --set data.label_field= --set "data.tokenizer=$data/vocab.txt" --set model.max_length=1024 \
      --set model.mixer=$mixer --set train.device=cuda --set train.precision=bf16 --set train.batch_size=32 \
      --set train.max_steps=2000 --set train.warmup_steps=200 --set train.lr=1e-4 \
      --set train.eval_every=500 --set train.eval_batches=20 --set train.checkpoint_every=500 \
      --set train.log_every=100 --set train.seed=1 --run-dir "$runs/pretrain-$mixer" > "$out/pretrain-$mixer.log" 2>&1
    stamp "pretrain-$mixer" $? $(( $(date +%s) - s )) ) &
done
wait
for mixer in ponet attention; do echo "== pretrain-$mixer"; grep -E "eval dev" "$out/pretrain-$mixer.log" | tail -4; done
finetune() {  # name mixer seed split-dir epochs lr
  local name=$1 mixer=$2 seed=$3 dir=$4 epochs=$5 lr=$6
  ( s=$(date +%s)
    timeout -s INT 240 $p finetune --set "model.init_checkpoint=$runs/pretrain-$mixer" \
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
for f in "$out"/hp-*.log "$out"/brown-*.log; do
  echo "== $(basename "$f" .log) $(grep -E "eval test" "$f" | tail -1 | sed 's/.*eval test @ step/test@/')"
done
tar -C "$runs" -czf "$out/runs.tgz" --exclude=checkpoints --exclude='*.safetensors' --exclude='*.bin' . 2>/dev/null
(cd "$out" && tar -czf logs.tgz --remove-files *.log summary.txt 2>/dev/null)
