#!/usr/bin/env bash
# Data-parallel smoke test for the GPU machine, after run-on-gpu-machine.sh built build-gpu/ against PyTorch's
# CUDA LibTorch: (1) a single-GPU NCCL process group of size 1 (WORLD_SIZE=1 in the environment, as an external
# launcher would start it), (2) the same run through our launcher with --nproc-per-node 1, (3) when more GPUs
# are present, --nproc-per-node N against 1 GPU at the same global batch (the losses must agree), (4) the
# launcher's rank handling on CPU workers (Gloo), and (5) resume of the N-GPU run on one GPU. NCCL's NVLink
# multicast stays off (the launcher sets NCCL_NVLS_ENABLE=0; we set it here for the direct start too).
# Usage: bash tests/gpu/ddp-smoke.sh [OUT_DIR]   (default $OUT, else /tmp/ponet-ddp)
set -uo pipefail
out=${1:-${OUT:-/tmp/ponet-ddp}}
mkdir -p "$out"
exec > >(tee "$out/ddp-smoke.log") 2>&1
ponet=build-gpu/ponet
[ -x "$ponet" ] || { echo "build-gpu/ponet is missing: run tests/gpu/run-on-gpu-machine.sh first"; exit 1; }
export NCCL_NVLS_ENABLE=${NCCL_NVLS_ENABLE:-0}
"$ponet" --version
gpus=$(nvidia-smi --list-gpus 2>/dev/null | wc -l)
echo "== $gpus GPU(s)"
common=(--preset lra-listops --set data.dataset=listops:train=6400,dev=320,test=320,seed=1
        --set train.max_steps=60 --set train.warmup_steps=10 --set train.eval_every=30 --set train.eval_batches=5
        --set train.checkpoint_every=30 --set train.log_every=10 --set train.batch_size=32 --set model.dropout=0
        --set train.precision=fp32)
status=0
check() {  # name, exit code
  echo "$1: exit $2"
  [ "$2" -eq 0 ] || status=1
}

echo "== 1. NCCL process group of size 1, started as an external launcher would (RANK/WORLD_SIZE set)"
RANK=0 WORLD_SIZE=1 LOCAL_RANK=0 MASTER_ADDR=127.0.0.1 MASTER_PORT=29531 \
  "$ponet" lra "${common[@]}" --set train.device=cuda --run-dir /tmp/ddp-env1 > "$out/env-world1.log" 2>&1
check "env world 1" $?
grep -E "data-parallel|^step 60/|run finished" "$out/env-world1.log"

echo "== 2. single GPU, plain (the reference) and through the launcher with --nproc-per-node 1"
"$ponet" lra "${common[@]}" --set train.device=cuda --run-dir /tmp/ddp-ref > "$out/single.log" 2>&1
check "single process" $?
"$ponet" lra "${common[@]}" --set train.device=cuda --run-dir /tmp/ddp-n1 --nproc-per-node 1 --master-port 29532 \
  > "$out/launcher-1.log" 2>&1
check "launcher, 1 GPU" $?
grep -hE "^step (30|60)/" "$out/single.log" "$out/launcher-1.log"

if [ "$gpus" -ge 2 ]; then
  echo "== 3. $gpus GPUs at the same global batch (losses must match the single-GPU run's within float tolerance)"
  "$ponet" lra "${common[@]}" --run-dir /tmp/ddp-n --nproc-per-node "$gpus" --master-port 29533 \
    > "$out/launcher-$gpus.log" 2>&1
  check "launcher, $gpus GPUs" $?
  grep -hE "^step (30|60)/" "$out/single.log" "$out/launcher-$gpus.log"
  echo "== 5. resume of the $gpus-GPU run on one GPU, 30 more steps"
  python3 - <<'PY'
import json
p = "/tmp/ddp-n/config.json"
c = json.load(open(p)); c["train"]["max_steps"] = 90; json.dump(c, open(p, "w"), indent=2)
PY
  "$ponet" resume /tmp/ddp-n > "$out/resume-1.log" 2>&1
  check "resume on 1 GPU" $?
  grep -E "resumed|^step 90/" "$out/resume-1.log"
else
  echo "== 3./5. skipped: one GPU only"
fi

echo "== 4. launcher rank handling on CPU workers (Gloo): 4 workers, global batch 32"
"$ponet" lra "${common[@]}" --set train.device=cpu --set train.max_steps=10 --set train.eval_every=10 \
  --run-dir /tmp/ddp-cpu4 --nproc-per-node 4 --master-port 29534 > "$out/cpu-4.log" 2>&1
check "4 CPU workers" $?
grep -E "rank [0-9]: pid|data-parallel|^step 10/" "$out/cpu-4.log"
for d in /tmp/ddp-env1 /tmp/ddp-ref /tmp/ddp-n1 /tmp/ddp-n /tmp/ddp-cpu4; do
  [ -f "$d/metrics.jsonl" ] && cp "$d/metrics.jsonl" "$out/metrics-$(basename "$d").jsonl"
done
echo "== done, status $status"
exit $status
