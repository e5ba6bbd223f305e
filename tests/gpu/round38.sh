#!/usr/bin/env bash
# Fixed segments sized by the ids a row really has (the lra-text preset below 4,096 tokens: one per token, not
# 4,096), the packed backward's bias gradient zeroed by the scratch memset. Build, the self-test, the Table 2 row
# with FNet, and one eager step of each mixer at 512 (and FNet at 2K) under ncu, every kernel in launch order.
# Usage on the device machine: bash tests/gpu/round38.sh OUT
source tests/gpu/lib.sh
out=${1:-$OUT}
gpu_round_start "$out"
selftest_cuda default
table2_runs 1
ncu_step ponet-512 512; ncu_step fnet-512 512 fnet; ncu_step fnet-2048 2048 fnet
round_end
