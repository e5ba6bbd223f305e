#!/usr/bin/env bash
# Sixteenth session: the trainer's step recorded once as a CUDA graph and replayed (train.cuda_graphs), and the
# batches checked on the host instead of on the device. ListOps training runs with graphs off and on, alternating:
# steps/s at 512 and 2,048 tokens (bf16), the losses of the same fp32 run both ways, a pre-training run both ways
# (MLM + SSO on byte tokens), the first-run example, then `ponet bench` (whose capture now goes through the same
# code) and the self-test.
# Usage on the device machine: bash tests/gpu/round69.sh OUT
source tests/gpu/lib.sh
out=${1:-$OUT}
gpu_round_start "$out"
runs=/tmp/round69
rm -rf "$runs"; mkdir -p "$runs"
# steps/s between a run's second and last step report, its last loss, and its graph log lines
rate() {
  python3 - "$1" <<'PY'
import json, sys
steps = [r for r in map(json.loads, open(sys.argv[1])) if r.get('event') == 'step']
a, b = steps[1], steps[-1]
print(f"{(b['step'] - a['step']) / (b['elapsed_seconds'] - a['elapsed_seconds']):.1f} steps/s, last loss {b['loss']:.4f}")
PY
}
# listops NAME LENGTH PRECISION GRAPHS STEPS
listops() {
  local run=$runs/$1
  timeout 150 "$p" lra --preset lra-listops --set data.dataset=listops:train=6000,dev=300,test=300,seed=0 \
    --set model.max_length="$2" --set train.device=cuda --set train.precision="$3" --set train.max_steps="$5" \
    --set train.warmup_steps=100 --set train.lr=5e-4 --set train.eval_every=100000 --set train.log_every=100 \
    --set train.checkpoint_every=100000 --set train.seed=1 --set train.cuda_graphs="$4" --run-dir "$run" \
    > "$out/$1.log" 2>&1
  echo "$1: exit $?, $(rate "$run/metrics.jsonl")"
  grep -E "CUDA graph|one by one|graph replays" "$out/$1.log" | sed 's/^/    /' | head -3
}
for i in 1 2; do
  for g in off on; do listops "512-$g-$i" 512 bf16 $g 1500; done
done
echo "== the same fp32 run without and with graphs: losses every 100 steps"
for g in off on; do listops "fp32-$g" 512 fp32 $g 600; done
python3 - "$runs/fp32-off/metrics.jsonl" "$runs/fp32-on/metrics.jsonl" <<'PY'
import json, sys
def losses(p):
    return {r['step']: r['loss'] for r in map(json.loads, open(p)) if r.get('event') == 'step'}
a, b = losses(sys.argv[1]), losses(sys.argv[2])
for s in sorted(a):
    print(f"  step {s}: off {a[s]:.6f}  on {b.get(s, float('nan')):.6f}")
PY
echo "== pre-training (tiny preset, byte tokens, 128 tokens, bf16) without and with graphs"
python3 - "$runs/corpus.jsonl" <<'PY'
import json, random, sys
random.seed(0)
words = "the of and a to in is was he for it with as his on be at by had are but from or have an they which one you were her all she there would their we him been has when who will more no if out so said what up its about into than them can only other new some could time these two may then do first any my now such like our over man me even most made after also did many before must through back years where much your way well down should because each just those people mr how too little state good very make world still own see men work long get here between both life being under never day same another know while last might us great old year off come since against go came right used take three".split()
with open(sys.argv[1], "w") as f:
    for i in range(3000):
        sents = [" ".join(random.choice(words) for _ in range(random.randint(6, 18))).capitalize() + "." for _ in range(random.randint(4, 12))]
        f.write(json.dumps({"id": f"doc{i}", "text": " ".join(sents)}) + "\n")
PY
for g in off on; do
  timeout 150 "$p" pretrain --preset tiny --set data.train="$runs/corpus.jsonl" --set data.tokenizer=byte \
    --set train.device=cuda --set train.precision=bf16 --set train.batch_size=32 --set train.max_steps=600 \
    --set train.eval_every=100000 --set train.log_every=100 --set train.checkpoint_every=100000 --set train.seed=1 \
    --set train.cuda_graphs=$g --run-dir "$runs/pretrain-$g" > "$out/pretrain-$g.log" 2>&1
  echo "pretrain-$g: exit $?, $(rate "$runs/pretrain-$g/metrics.jsonl")"
  grep -E "CUDA graph|one by one|graph replays|error|failed" "$out/pretrain-$g.log" | sed 's/^/    /' | head -4
done
for i in 1; do
  for g in off on; do listops "2048-$g-$i" 2048 bf16 $g 1000; done
done
listops_smoke
grep -E "CUDA graph|graph replays" "$out/listops-cuda.log" | head -2
bench table2-short --preset lra-text --mixers ponet,fnet --lens 512,2048 --batch 32 --device cuda --warmup 10 --steps 30
selftest_cuda default
round_end
