#!/usr/bin/env bash
# Twelfth session, after the review: the stacking no longer zero-fills its extra output's missing gradient, the
# self-test checks that a linear layer uses the cast weight given to it, and ponet bench's graph path re-raises an
# error of its eager warm-up as the cell's own. Build (which compiles the graph path against LibTorch 2.11), the
# self-test, and the 512 step's kernels.
# Written in the twelfth session, whose device time ran out; the thirteenth ran it first (docs/PERFORMANCE.md).
# Usage on the device machine: bash tests/gpu/round54.sh OUT
source tests/gpu/lib.sh
out=${1:-$OUT}
gpu_round_start "$out"
selftest_cuda default
NCU_CACHE=none ncu_step ponet512 512 ponet
grep -c "FillFunctor<c10::BFloat16" "$out/ncu-ponet512-step.txt"
round_end
