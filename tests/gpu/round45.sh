#!/usr/bin/env bash
# The ninth session's final status (after rounds 38-44): build, the self-test three ways, the Table 2 row twice with
# FNet, 32K and 64K, the base shape fused and reference (training and inference).
# Usage on the device machine: bash tests/gpu/round45.sh OUT
source tests/gpu/lib.sh
out=${1:-$OUT}
gpu_round_start "$out"
selftest_three
table2_runs 2
long_rows
base_shape
grep -E "packed fused vs reference mixing.*long rows" "$out/selftest-default.log" | grep cuda | head -4
round_end
