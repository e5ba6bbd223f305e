#!/usr/bin/env bash
# Eighteenth session: checkpoints record their trained length and LRA input, FNet rows are padded to it. The
# self-test, the recorded fp32 first-run example, an FNet and a PoNet classifier fine-tuned on CUDA in bf16 (every
# FNet batch now has one shape, so its steps replay) with `ponet predict` from the run and from a copied checkpoint,
# and the Table 2 row at 512-4K as a check that nothing else moved.
# Usage on the device machine: bash tests/gpu/round79.sh OUT
source tests/gpu/lib.sh
out=${1:-$OUT}
trainer_round_start "$out" round79
selftest_cuda default
listops_smoke
labelled_corpus
head -3 "$runs/labelled.jsonl" | python3 -c 'import json,sys; [open(f"'"$runs"'/doc{i}.txt","w").write(json.loads(l)["text"]) for i,l in enumerate(sys.stdin)]'
for mixer in fnet ponet; do
  run=$runs/finetune-$mixer
  timeout 200 "$p" finetune --preset tiny --set data.train="$runs/labelled.jsonl" --set data.tokenizer="$runs/vocab.txt" \
    --set model.mixer=$mixer --set model.max_length=128 --set train.device=cuda --set train.precision=bf16 \
    --set train.batch_size=32 --set train.max_steps=600 --set train.warmup_steps=60 --set train.eval_every=100000 \
    --set train.log_every=100 --set train.checkpoint_every=100000 --set train.seed=1 --run-dir "$run" \
    > "$out/finetune-$mixer.log" 2>&1
  echo "finetune-$mixer: exit $?, $(trainer_rate "$run/metrics.jsonl")"
  grep -E "CUDA graph|one by one|graph replays|eval test|error|failed" "$out/finetune-$mixer.log" | sed 's/^/    /' | head -5
  cp -r "$(ls -d "$run"/checkpoints/step-* | tail -1)" "$runs/copied-$mixer"
  "$p" info --model "$runs/copied-$mixer" | grep -E "mixer|trained at"
  for from in "$run" "$runs/copied-$mixer"; do
    echo "  predict from $from:"; "$p" predict "$from" "$runs"/doc*.txt --device cuda 2>&1 | sed 's/^/    /'
  done
done
bench check --preset lra-text --mixers ponet,fnet --lens 512,1024,2048,4096 --batch 32 --device cuda --warmup 10 \
  --steps 30
round_end
