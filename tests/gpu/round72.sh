#!/usr/bin/env bash
# Sixteenth session, after the review: recording streams are leased (a scope takes a free one and gives it back),
# replayed steps count their examples in the checkpoint's examples_seen, and the bench falls back to ordinary steps
# when another thread's capture failed. ListOps runs without and with graphs (the same seed, so their final
# checkpoints' examples_seen must agree), `ponet race` (two recordings one after the other in one process),
# `ponet bench` and the self-test.
# Usage on the device machine: bash tests/gpu/round72.sh OUT
source tests/gpu/lib.sh
out=${1:-$OUT}
trainer_round_start "$out" round72
for g in off on; do
  listops_run "512-$g" 512 bf16 $g 1500
  echo "    examples_seen $(python3 -c "import json,glob; print(json.load(open(sorted(glob.glob('$runs/512-$g/checkpoints/step-*/trainer_state.json'))[-1]))['examples_seen'])")"
done
timeout 200 "$p" race --preset lra-listops --mixers ponet,fnet --steps 600 --device cuda --runs-dir "$runs/race" \
  --set data.dataset=listops:train=6000,dev=300,test=300,seed=0 --set model.max_length=512 \
  --set train.precision=bf16 --set train.lr=5e-4 --set train.warmup_steps=60 > "$out/race.log" 2>&1
echo "race: exit $?"; tail -5 "$out/race.log"
grep -hE "graph replays" "$runs"/race/*/log.txt 2>/dev/null | head -4
bench table2-short --preset lra-text --mixers ponet,fnet --lens 512,2048 --batch 32 --device cuda --warmup 10 --steps 30
selftest_cuda default
round_end
