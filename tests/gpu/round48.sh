#!/usr/bin/env bash
# Twelfth session, first call: where the 512-token step's time goes, kernel by kernel, for PoNet and FNet (ncu of
# one eager step, caches not flushed between kernels, so the times are closer to those inside a graph replay).
# Usage on the device machine: bash tests/gpu/round48.sh OUT
source tests/gpu/lib.sh
out=${1:-$OUT}
gpu_round_start "$out"
NCU_CACHE=none ncu_step ponet512 512 ponet
NCU_CACHE=none ncu_step fnet512 512 fnet
table2_runs 1
round_end
