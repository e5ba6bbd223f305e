#!/usr/bin/env bash
# Sixteenth session, after round69: LRA rows now padded to the model's full length (PONET-SPEC §4.1), so every
# ListOps batch has one shape and the recorded step replays. ListOps training runs with graphs off and on,
# alternating: steps/s at 512 and 2,048 tokens (bf16), the losses of the same fp32 run both ways, a pre-training run
# both ways (MLM + SSO, a WordPiece vocabulary of the corpus's words), the first-run example, `ponet bench` and the
# self-test.
# Usage on the device machine: bash tests/gpu/round70.sh OUT
source tests/gpu/lib.sh
out=${1:-$OUT}
trainer_round_start "$out" round70
for i in 1 2; do
  for g in off on; do listops_run "512-$g-$i" 512 bf16 $g 3000; done
done
echo "== the same fp32 run without and with graphs: losses every 100 steps"
for g in off on; do listops_run "fp32-$g" 512 fp32 $g 600; done
python3 - "$runs/fp32-off/metrics.jsonl" "$runs/fp32-on/metrics.jsonl" <<'PY'
import json, sys
def losses(p):
    return {r['step']: r['loss'] for r in map(json.loads, open(p)) if r.get('event') == 'step'}
a, b = losses(sys.argv[1]), losses(sys.argv[2])
for s in sorted(a):
    print(f"  step {s}: off {a[s]:.6f}  on {b.get(s, float('nan')):.6f}")
PY
echo "== pre-training (tiny preset, 128 tokens, bf16) without and with graphs"
pretrain_corpus
for g in off on; do pretrain_run $g; done
for i in 1 2; do
  for g in off on; do listops_run "2048-$g-$i" 2048 bf16 $g 1500; done
done
listops_smoke
grep -E "CUDA graph|graph replays" "$out/listops-cuda.log" | head -2
bench table2-short --preset lra-text --mixers ponet,fnet --lens 512,2048 --batch 32 --device cuda --warmup 10 --steps 30
selftest_cuda default
round_end
