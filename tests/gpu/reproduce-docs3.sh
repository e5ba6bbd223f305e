#!/usr/bin/env bash
# The long-document reproduction with a gentler pre-training learning rate (1e-4 instead of 5e-4, for both mixers:
# at 5e-4 the post-LN attention model's MLM had not left the frequent-token plateau after 2,000 steps), then the
# same fine-tuning as tests/gpu/reproduce-docs2.sh (three seeds, Hyperpartisan paper + de-duplicated split, Brown).
# Usage: bash tests/gpu/reproduce-docs3.sh OUT DATA_DIR
set -uo pipefail
source tests/gpu/lib.sh
out=${1:-${OUT:-/tmp/ponet-gpu}}
data=${2:?data dir}
mkdir -p "$out"
t0=$(date +%s)
gpu_build "$out" || exit 1
echo "build $(( $(date +%s) - t0 )) s"
p=build-gpu/ponet
runs=$PWD/build-gpu/docs3-runs; rm -rf "$runs"; mkdir -p "$runs"
export PONET_RESOURCES_DIR=$PWD/resources OMP_NUM_THREADS=1
stamp() { echo "$1 exit $2 wall $3 s" >> "$out/summary.txt"; }
for mixer in ponet attention; do
  ( s=$(date +%s)
    docs_pretrain "$p" "$runs" "$data" "$mixer" 2000 1e-4 280 "$out/pretrain-$mixer.log"
    stamp "pretrain-$mixer" $? $(( $(date +%s) - s )) ) &
done
wait
for mixer in ponet attention; do echo "== pretrain-$mixer"; grep -E "eval dev" "$out/pretrain-$mixer.log" | tail -4; done
finetune() {  # name mixer seed split-dir epochs lr
  local name=$1 mixer=$2 seed=$3
  ( s=$(date +%s)
    docs_finetune "$p" "$runs" "$data" "$@" 240 "$out/$name-$mixer-$seed.log"
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
