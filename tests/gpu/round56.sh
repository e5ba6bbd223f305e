#!/usr/bin/env bash
# Thirteenth session, second call: the epilogue kernels draw their dropout masks themselves from the generator's
# Philox state (no bernoulli_ kernel before each). The self-test, the Table 2 row with the epilogues off
# (PONET_LINEAR_EPILOGUES=0) and on, twice, one 512 step of each mixer under ncu (L2 kept warm), a short CUDA training
# run, the base shape, and 32K/64K.
# Usage on the device machine: bash tests/gpu/round56.sh OUT
source tests/gpu/lib.sh
out=${1:-$OUT}
gpu_round_start "$out"
selftest_epilogues
epilogues_ab 1
NCU_CACHE=none ncu_step ponet512 512 ponet
NCU_CACHE=none ncu_step fnet512 512 fnet
listops_smoke
echo "at $(( $(date +%s) - t0 )) s"
epilogues_ab 2
bench base --preset base --lens 4096 --batch 8 --device cuda --warmup 3 --steps 10 --cuda-graphs off --mixers ponet,attention
long_rows
round_end
