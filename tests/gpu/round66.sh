#!/usr/bin/env bash
# Fifteenth session: the one-kernel mixing passes with every block resident and a counter per batch row as the
# barrier (the default), against the separate kernels, the cluster barrier and rows per warp stretched to fit, at
# 512 to 4K, alternating; the self-test, the Table 2 row once, the 512-token step's kernels and the listops run.
# Usage on the device machine, at commit ec0aecf (the one-kernel passes, reverted after round67):
# bash tests/gpu/round66.sh OUT
source tests/gpu/lib.sh
out=${1:-$OUT}
gpu_round_start "$out"
selftest_cuda default
grep -E "fused vs reference" "$out/selftest-default.log"
table2_runs 1
passes_ab passes 512,1024,2048,4096 --warmup 10 --steps 30
NCU_CACHE=none ncu_step ponet512 512 ponet
listops_smoke
round_end
