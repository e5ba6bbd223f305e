#!/usr/bin/env bash
# After the review of the packed path (an undefined bias, NaN through the softmax combine, no K/O copies without a
# backward, unused outputs' gradients left undefined): build, the self-test on every device, the Table 2 row and
# the base shape's inference, and the bf16 trainer smoke run with gradient checkpointing.
# Usage on the device machine: bash tests/gpu/round22.sh OUT
source tests/gpu/lib.sh
out=${1:-$OUT}
gpu_round_start "$out"
p=build-gpu/ponet
export PONET_RESOURCES_DIR=$PWD/resources
timeout 150 $p selftest --verbose > "$out/selftest.log" 2>&1; echo "selftest exit $?"
grep -E "^FAIL" "$out/selftest.log" | head; tail -1 "$out/selftest.log"; grep -E "cuda:0\] (packed|explicit)" "$out/selftest.log" | cut -c1-150
bench() { local name=$1; shift; echo "== $name: ponet bench $*"; timeout 120 $p bench "$@" --json "$out/$name.json" 2>&1 | grep -E '^(ponet|fnet|attention) +\|' | head -3; }
bench table2 --preset lra-text --mixers ponet,fnet --lens 512,1024,2048,4096,8192,16384 --batch 32 --device cuda --warmup 10 --steps 30
bench base4096-infer --preset base --mixers ponet --lens 4096 --batch 8 --device cuda --mode infer --warmup 3 --steps 10 --cuda-graphs off
common=(--preset lra-listops --set data.dataset=listops:train=3200,dev=320,test=320,seed=1 --set train.max_steps=300
        --set train.warmup_steps=60 --set train.eval_every=150 --set train.eval_batches=10 --set train.checkpoint_every=1000
        --set train.log_every=50 --set train.device=cuda --set train.seed=3 --set train.precision=bf16)
for ck in false true; do
  timeout 90 $p lra "${common[@]}" --set train.grad_checkpointing=$ck --run-dir /tmp/ck-$ck > "$out/ck-$ck.log" 2>&1
  echo "== bf16 grad_checkpointing=$ck exit $?"; grep -E "^step (50|150|300)/" "$out/ck-$ck.log" | cut -c1-40
done
echo "total $(( $(date +%s) - t0 )) s"
(cd "$out" && tar -czf results.tgz --remove-files *.json *.log 2>/dev/null)
