#!/usr/bin/env bash
# After review: the packed backward's bias gradient is its own tensor again (zeroed by the backward: a view into the
# scratch kept all of it alive as the biases' gradient); the vector query and score passes leave one partial per
# block instead of per warp (the combine kernels read a quarter); the LRA pooling mean by our partial-sum kernel.
# Build, the self-test three ways, the Table 2 row twice with FNet, 32K/64K, one eager step at 512 and 2K under ncu.
# Usage on the device machine: bash tests/gpu/round42.sh OUT
source tests/gpu/lib.sh
out=${1:-$OUT}
gpu_round_start "$out"
selftest_three
table2_runs 2
long_rows
ncu_step ponet-512 512; ncu_step ponet-2048 2048
round_end
