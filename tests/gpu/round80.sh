#!/usr/bin/env bash
# Eighteenth session: training batches padded to model.max_length on CUDA where the examples average at least 3/4 of
# it, so that every step replays the recorded CUDA graph. The PoNet and FNet classifiers of round79 (graphs on, and
# off as the side-by-side base), pre-training of the `tiny` preset both ways, and the self-test.
# Usage on the device machine: bash tests/gpu/round80.sh OUT
source tests/gpu/lib.sh
out=${1:-$OUT}
trainer_round_start "$out" round80
selftest_cuda default
labelled_corpus
for graphs in auto off; do
  for mixer in ponet fnet; do
    run=$runs/finetune-$mixer-$graphs
    timeout 200 "$p" finetune --preset tiny --set data.train="$runs/labelled.jsonl" \
      --set data.tokenizer="$runs/vocab.txt" --set model.mixer=$mixer --set model.max_length=128 \
      --set train.device=cuda --set train.precision=bf16 --set train.batch_size=32 --set train.max_steps=600 \
      --set train.warmup_steps=60 --set train.eval_every=100000 --set train.log_every=100 \
      --set train.checkpoint_every=100000 --set train.seed=1 --set train.cuda_graphs=$graphs --run-dir "$run" \
      > "$out/finetune-$mixer-$graphs.log" 2>&1
    echo "finetune-$mixer-$graphs: exit $?, $(trainer_rate "$run/metrics.jsonl")"
    grep -E "padded to|graph replays|eval test|error|failed" "$out/finetune-$mixer-$graphs.log" | cut -c1-150 |
      sed 's/^/    /' | head -4
  done
done
for g in on off; do pretrain_run $g; grep -E "padded to" "$out/pretrain-$g.log" | cut -c1-150 | sed 's/^/    /'; done
round_end
