#!/usr/bin/env bash
# Twelfth session's last call: the Table 2 row with the final code and the new `auto` graph limit (8K now captured),
# the self-test, and the 16K cell as graph replays against the eager step (two runs each), to see whether the
# limit should go further.
# Usage on the device machine: bash tests/gpu/round53.sh OUT
source tests/gpu/lib.sh
out=${1:-$OUT}
gpu_round_start "$out"
selftest_cuda default
table2_runs 1
for g in off on; do
  for i in 1 2; do
    bench graph16k-$g-$i --preset lra-text --mixers ponet,fnet --lens 16384 --batch 32 --device cuda --warmup 5 \
      --steps 20 --cuda-graphs $g
  done
done
round_end
