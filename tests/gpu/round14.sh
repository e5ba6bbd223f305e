#!/usr/bin/env bash
# Issue #10, ListOps with a schedule longer than one GPU call allows, split in two calls with the product's own
# stop/resume: `start` trains 3 PoNet seeds and FNet (LISTOPS_STEPS, default 30,000; OneCycle to 5e-4, 20 % warm-up)
# side by side until the call's time is nearly spent, stops them with SIGINT (each saves a checkpoint) and packs
# each run folder (its best and newest checkpoints) into OUT/<run>.tgz; `finish` unpacks the folders carried back
# as build-gpu/round14/<run>.tgz, continues every run with `ponet resume` to its last step and scores the whole
# 10,000-example test split with the best dev checkpoint.
# Usage on the device machine (build-gpu/ponet carried or built): bash tests/gpu/round14.sh start|finish OUT
set -uo pipefail
source tests/gpu/lib.sh
mode=${1:?start or finish}
out=${2:-$OUT}
mkdir -p "$out"
t0=$(date +%s)
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
p=build-gpu/ponet
gpu_ponet "$out" || exit 1
export PONET_RESOURCES_DIR=$PWD/resources OMP_NUM_THREADS=1
runs=$PWD/build-gpu/round14-runs
left=$(( ${BUDGET:-570} - ($(date +%s) - t0) ))
jobs="${LISTOPS_JOBS:-ponet:1 ponet:2 ponet:3 fnet:1}"
stamp() { echo "$1 exit $2 wall $3 s" >> "$out/summary.txt"; }
if [ "$mode" = start ]; then
  rm -rf "$runs"; mkdir -p "$runs"
  for job in $jobs; do
    mixer=${job%%:*}; seed=${job##*:}
    ( s=$(date +%s)
      LISTOPS_STEPS=${LISTOPS_STEPS:-30000} listops_run "$p" "$runs" "$mixer" "$seed" 10000 "$left" \
        "$out/listops-$mixer-$seed.log"
      stamp "listops-$mixer-$seed" $? $(( $(date +%s) - s )) ) &
  done
  wait
  for r in "$runs"/*; do  # the best and the newest checkpoint travel; older ones stay behind
    n=$(basename "$r"); best=$(readlink "$r/best"); newest=$(ls -d "$r"/checkpoints/step-* | sort -t- -k2 -n | tail -1)
    (cd "$runs" && tar -czf "$out/$n.tgz" $(ls -d "$n"/* | grep -v "/checkpoints$") "$n/$best" \
      "$n/checkpoints/$(basename "$newest")")
  done
else
  mkdir -p "$runs"
  for f in build-gpu/round14/*.tgz; do tar -C "$runs" -xzf "$f"; done
  for r in "$runs"/*; do
    n=$(basename "$r")
    ( s=$(date +%s); timeout -s INT "$left" "$p" resume "$r" > "$out/$n.log" 2>&1
      stamp "$n" $? $(( $(date +%s) - s )) ) &
  done
  wait
  tar -C "$runs" -czf "$out/runs.tgz" --exclude=checkpoints .
fi
echo "done at $(( $(date +%s) - t0 )) s"
sort "$out/summary.txt"
for f in "$out"/*.log; do
  echo "== $(basename "$f" .log) $(grep -E "eval (dev|test)" "$f" | tail -1) | $(grep -E "run (finished|stopped)" "$f" | tail -1)"
done
(cd "$out" && tar -czf logs.tgz --remove-files ./*.log summary.txt 2>/dev/null)
ls -la "$out"
