#!/usr/bin/env bash
# On the GPU machine: the LRA stand-ins of issue #10 that fit one short GPU call, PoNet, FNet and attention side by
# side (nine runs at once on the one GPU), each with the same shortened budget:
#   image      Fashion-MNIST (DATA.md's CIFAR-10 stand-in) as 784-pixel sequences, lra-image preset;
#   pathfinder generated 32x32 Pathfinder-style images, lra-pathfinder preset;
#   text       Pang & Lee reviews (DATA.md's IMDb stand-in) as bytes, 4,096 long, lra-text preset.
# Changed from the presets to fit minutes instead of hours (the same for every mixer): max_steps, warmup 10 % of
# it, lr 5e-4 (the presets' 1e-4 is for 20,000-62,400 steps), evaluation every 100 steps on 8 dev batches.
# Data: DATA_DIR holds train-images-idx3-ubyte / train-labels-idx1-ubyte (the first 25,000 Fashion-MNIST training
# images), t10k-* (all 10,000 test images) and pang-lee.jsonl, fetched with `ponet data fetch` on a machine with
# network (this one has none) and carried along.
# Usage: [TASKS='image pathfinder text'] bash tests/gpu/reproduce-lra-more.sh OUT DATA_DIR [SECONDS_PER_RUN]
set -uo pipefail
out=${1:-${OUT:-/tmp/ponet-gpu}}
data=${2:?data dir}
limit=${3:-300}
mkdir -p "$out"
build=${PONET_GPU_BUILD:-build-gpu}
[ -x "$build/ponet" ] || { echo "build $build/ponet first"; exit 1; }
runs=/tmp/ponet-lra-more
rm -rf "$runs"; mkdir -p "$runs"
export PONET_RESOURCES_DIR=$PWD/resources OMP_NUM_THREADS=1
launch() {  # name, preset, steps, extra --set options...
  local name=$1 preset=$2 steps=$3; shift 3
  ( start=$(date +%s)
    timeout "$limit" "$build/ponet" lra --preset "$preset" --set train.device=cuda --set train.max_steps="$steps" \
      --set train.warmup_steps=$(( steps / 10 )) --set train.lr=5e-4 --set train.eval_every=100 \
      --set train.eval_batches=8 --set train.checkpoint_every=100000 --set train.log_every=50 --set train.seed=1 \
      "$@" --run-dir "$runs/$name" > "$out/$name.log" 2>&1
    echo "$name exit $? wall $(( $(date +%s) - start )) s" >> "$out/summary.txt" ) &
}
img=(--set "data.train=$data/train-images-idx3-ubyte" --set "data.test=$data/t10k-images-idx3-ubyte"
     --set data.validation_fraction=0.04 --set model.max_length=784)
pf=(--set "data.dataset=pathfinder:train=20000,dev=1000,test=2000,seed=0,size=32")
txt=(--set "data.train=$data/pang-lee.jsonl" --set data.validation_fraction=0.1)
tasks=" ${TASKS:-image pathfinder text} "  # TASKS=image runs only the image stand-in
for mixer in ponet fnet attention; do
  [[ $tasks == *" image "* ]] &&
    launch image-$mixer lra-image "${IMAGE_STEPS:-600}" "${img[@]}" --set model.mixer=$mixer
  [[ $tasks == *" pathfinder "* ]] &&
    launch pathfinder-$mixer lra-pathfinder "${PATHFINDER_STEPS:-500}" "${pf[@]}" --set model.mixer=$mixer
  [[ $tasks == *" text "* ]] && launch text-$mixer lra-text "${TEXT_STEPS:-800}" "${txt[@]}" --set model.mixer=$mixer
done
wait
cat "$out/summary.txt"
for f in "$out"/*-*.log; do
  echo "== $(basename "$f" .log)"
  grep -iE "test|best|error|steps/s|tokens/s" "$f" | tail -4
done
for r in "$runs"/*; do
  n=$(basename "$r"); mkdir -p "$out/runs/$n"
  cp "$r"/config.json "$r"/metrics.jsonl "$r"/status.json "$r"/labels.json "$r"/log.txt "$out/runs/$n/" 2>/dev/null
done
