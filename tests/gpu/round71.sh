#!/usr/bin/env bash
# Sixteenth session, the final code: each thread records on a stream of its own, and a recording refused before it
# starts lets the run go on with ordinary steps. The ListOps runs at 512 and 2,048 tokens with graphs off and on
# (bf16), the pre-training run with graphs, two runs one after the other in one process (`ponet race`, each
# recording its own step), the first-run example, `ponet bench` and the self-test.
# Usage on the device machine: bash tests/gpu/round71.sh OUT
source tests/gpu/lib.sh
out=${1:-$OUT}
trainer_round_start "$out" round71
for len in 512 2048; do
  for g in off on; do listops_run "$len-$g" "$len" bf16 $g 1500; done
done
pretrain_corpus
pretrain_run on
echo "== ponet race: PoNet, then FNet, on ListOps in one process (each run records its own step), 600 steps each"
timeout 200 "$p" race --preset lra-listops --mixers ponet,fnet --steps 600 --device cuda --runs-dir "$runs/race" \
  --set data.dataset=listops:train=6000,dev=300,test=300,seed=0 --set model.max_length=512 \
  --set train.precision=bf16 --set train.lr=5e-4 --set train.warmup_steps=60 > "$out/race.log" 2>&1
echo "race: exit $?"; tail -6 "$out/race.log"
grep -hE "CUDA graph|graph replays" "$runs"/race/*/log.txt 2>/dev/null | head -4
listops_smoke
grep -E "CUDA graph|graph replays" "$out/listops-cuda.log" | head -2
bench table2-short --preset lra-text --mixers ponet,fnet --lens 512,2048 --batch 32 --device cuda --warmup 10 --steps 30
selftest_cuda default
round_end
