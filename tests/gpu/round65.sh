#!/usr/bin/env bash
# Fifteenth session: each direction's three mixing passes as one kernel, a thread block cluster per batch row, where
# a row's blocks fit one. The self-test (its fused-vs-reference lines), the Table 2 row once, the separate kernels
# against the one-kernel passes at 512 to 4K, alternating, the 512-token step's kernels and the 100-step CUDA listops
# run. (This round ran the cluster barrier, then the only one, as the default; passes_ab below times it with
# PONET_MIX_ONE_KERNEL=cluster.)
# Usage on the device machine, at commit ec0aecf (the one-kernel passes, reverted after round67):
# bash tests/gpu/round65.sh OUT
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
