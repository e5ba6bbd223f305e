#!/usr/bin/env bash
# Issue #10 after the fix that scores the whole test split (it used to stop at train.eval_batches): ListOps (3 PoNet
# seeds, FNet, attention; the schedule of docs/RESULTS.md unless LISTOPS_STEPS / LISTOPS_LR say otherwise; all
# 10,000 test examples scored) and, unless FMNIST_DIR is "none", the Fashion-MNIST image stand-in (all 10,000 test
# images), side by side on the one GPU; in the foreground the self-test and a functional check of the CUDA-graph
# capture (every mixer, training and inference; timings disturbed by the runs beside it, not for the record).
# A binary built here goes back in OUT (gpu_ponet), for later calls to carry.
# Usage on the device machine: bash tests/gpu/round13.sh OUT FMNIST_DIR|none
set -uo pipefail
source tests/gpu/lib.sh
out=${1:-$OUT}
img=${2:?Fashion-MNIST folder or none}
mkdir -p "$out"
t0=$(date +%s)
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
p=build-gpu/ponet
gpu_ponet "$out" || exit 1
echo "ready at $(( $(date +%s) - t0 )) s"
export PONET_RESOURCES_DIR=$PWD/resources OMP_NUM_THREADS=1
runs=$PWD/build-gpu/round13-runs
rm -rf "$runs"; mkdir -p "$runs"
left=$(( ${BUDGET:-575} - ($(date +%s) - t0) ))
stamp() { echo "$1 exit $2 wall $3 s" >> "$out/summary.txt"; }
for job in ${LISTOPS_JOBS:-ponet:1 ponet:2 ponet:3 fnet:1 attention:1}; do
  mixer=${job%%:*}; seed=${job##*:}
  ( s=$(date +%s)
    listops_run "$p" "$runs" "$mixer" "$seed" 10000 "$left" "$out/listops-$mixer-$seed.log"
    stamp "listops-$mixer-$seed" $? $(( $(date +%s) - s )) ) &
done
if [ "$img" != none ]; then
  TASKS=image IMAGE_STEPS=${IMAGE_STEPS:-1600} PONET_GPU_BUILD=build-gpu \
    bash tests/gpu/reproduce-lra-more.sh "$out/lra" "$img" "$left" > "$out/lra-more.log" 2>&1 &
fi
if [ -z "${SKIP_CHECKS:-}" ]; then
  "$p" selftest > "$out/selftest.log" 2>&1; echo "selftest exit $?: $(tail -1 "$out/selftest.log")"
  for mode in train infer; do
    "$p" bench --preset lra-text --mixers ponet,fnet,attention --lens 512 --batch 32 --device cuda --mode $mode \
      --warmup 3 --steps 5 --cuda-graphs on --no-cache 2>&1 | grep -E "graph|^(ponet|fnet|attention) |not ok|rror"
  done
fi
wait
echo "all done at $(( $(date +%s) - t0 )) s"
sort "$out/summary.txt"
for f in "$out"/listops-*.log; do
  echo "== $(basename "$f" .log) $(grep -E "eval test" "$f" | tail -1) | $(grep -E "run finished after" "$f" | tail -1)"
done
grep -hE "^image-|== image|test" "$out/lra-more.log" 2>/dev/null | head -20
tar -C "$runs" -czf "$out/runs.tgz" --exclude=checkpoints . 2>/dev/null
(cd "$out" && tar -czf logs.tgz --remove-files ./*.log summary.txt lra 2>/dev/null)
ls -la "$out"
