#!/usr/bin/env bash
# Seventeenth session: why recorded ListOps steps in the trainer were slower with the weight gradients deferred to a
# companion stream (round76) while the benchmark's recorded steps were faster. nsys timelines (graph nodes traced)
# of the trainer's recorded steps and of the benchmark's, with the companion stream off and deferred.
# Usage on the device machine: bash tests/gpu/round77.sh OUT
source tests/gpu/lib.sh
out=${1:-$OUT}
trainer_round_start "$out" round77
nsys=$(command -v nsys || ls /opt/nvidia/nsight-compute/*/host/target-linux-x64/nsys 2>/dev/null | head -1)
[ -n "$nsys" ] || { echo "no nsys"; round_end; exit 0; }
"$nsys" --version
for v in off pass; do
  PONET_WGRAD_STREAM=$v timeout 120 "$nsys" profile -o "$out/tr-$v" --force-overwrite true --cuda-graph-trace=node \
    --trace=cuda --sample=none --cpuctxsw=none "$p" lra --preset lra-listops \
    --set data.dataset=listops:train=6000,dev=300,test=300,seed=0 --set model.max_length=512 --set train.device=cuda \
    --set train.precision=bf16 --set train.max_steps=400 --set train.warmup_steps=100 --set train.lr=5e-4 \
    --set train.eval_every=100000 --set train.log_every=100 --set train.checkpoint_every=100000 --set train.seed=1 \
    --set train.cuda_graphs=on --run-dir "$runs/tr-$v" > "$out/tr-$v.log" 2>&1
  echo "trainer $v: exit $?"
  "$nsys" export --type sqlite -o "$out/tr-$v.sqlite" --force-overwrite true "$out/tr-$v.nsys-rep" > /dev/null 2>&1
  python3 tests/gpu/nsys_steps.py "$out/tr-$v.sqlite" adam
  PONET_WGRAD_STREAM=$v timeout 120 "$nsys" profile -o "$out/bn-$v" --force-overwrite true --cuda-graph-trace=node \
    --trace=cuda --sample=none --cpuctxsw=none "$p" bench --preset lra-text --mixers ponet --lens 512 --batch 32 \
    --device cuda --warmup 10 --steps 200 --no-cache > "$out/bn-$v.log" 2>&1
  echo "bench $v: exit $?"; grep -E "^ponet " "$out/bn-$v.log" | head -1
  "$nsys" export --type sqlite -o "$out/bn-$v.sqlite" --force-overwrite true "$out/bn-$v.nsys-rep" > /dev/null 2>&1
  python3 tests/gpu/nsys_steps.py "$out/bn-$v.sqlite" adam
done
(cd "$out" && for f in *.step.txt; do mv "$f" "${f%.sqlite.step.txt}-step.log"; done; rm -f *.sqlite *.nsys-rep)
round_end
