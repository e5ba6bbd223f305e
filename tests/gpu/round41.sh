#!/usr/bin/env bash
# The linear layers' bias added in fp32 as the parameter is (no cast pass per layer), 32 warps per block for the
# partial sums, and the query pass in the vector layout where a segment per token leaves it only Q to read. Build,
# the self-test three ways, the Table 2 row with FNet twice, 32K and 64K, the base shape against the reference path.
# Usage on the device machine: bash tests/gpu/round41.sh OUT
source tests/gpu/lib.sh
out=${1:-$OUT}
gpu_round_start "$out"
selftest_three
table2_runs 2
long_rows
base_shape
ncu_step ponet-512 512
round_end
