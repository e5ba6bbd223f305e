#!/usr/bin/env bash
# Thirteenth session, after the review: the epilogue kernels take the dropout scale from the host (the backward's
# own value), copy a residual at an odd offset, and let a NaN through ReLU as ATen does; the residual check keeps a
# non-zero residual under dropout. The self-test, the Table 2 row once and a short CUDA training run.
# Usage on the device machine: bash tests/gpu/round57.sh OUT
source tests/gpu/lib.sh
out=${1:-$OUT}
gpu_round_start "$out"
selftest_epilogues
table2_runs 1
listops_smoke
round_end
