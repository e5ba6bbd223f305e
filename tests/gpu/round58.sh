#!/usr/bin/env bash
# Fourteenth session: where the 2K and 4K steps spend their time, PoNet against our FNet (ncu, one eager step each,
# the L2 kept warm), to see which kernels the 0.93 / 0.95 ratios come from.
# Usage on the device machine: bash tests/gpu/round58.sh OUT
source tests/gpu/lib.sh
out=${1:-$OUT}
gpu_round_start "$out"
for len in 2048 4096; do
  NCU_CACHE=none ncu_step ponet$len $len ponet
  NCU_CACHE=none ncu_step fnet$len $len fnet
done
round_end
