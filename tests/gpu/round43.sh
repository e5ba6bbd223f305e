#!/usr/bin/env bash
# Linear layers' weight gradients straight out of cuBLAS in fp32 (at::mm with an output dtype: no rounding to the
# low precision and no cast pass), the stacking kernel without 64-bit divisions. Build, the self-test three ways,
# the Table 2 row twice with FNet, one eager step at 512 under ncu.
# Usage on the device machine: bash tests/gpu/round43.sh OUT
source tests/gpu/lib.sh
out=${1:-$OUT}
gpu_round_start "$out"
selftest_three
table2_runs 2
ncu_step ponet-512 512; ncu_step fnet-512 512 fnet
round_end
