#!/usr/bin/env bash
# Fifteenth session, the final code: with narrow fixed segments a batch row's blocks now take more rows per warp
# (up to 128) to number at most 16 (rows_per_warp in ponet_mixing_kernels.cu). The self-test (also with rows
# stretched to at most 4 blocks, PONET_MIX_ROW_BLOCKS=4), the Table 2 row, PoNet at 512 to 8K with the stretch off
# (PONET_MIX_ROW_BLOCKS=0), on, and to 8 blocks, alternating, twice; 32K/64K and the listops run.
# Usage on the device machine: bash tests/gpu/round68.sh OUT
source tests/gpu/lib.sh
out=${1:-$OUT}
gpu_round_start "$out"
selftest_cuda default
PONET_MIX_ROW_BLOCKS=4 selftest_cuda blocks4
table2_runs 1
a="--preset lra-text --mixers ponet --lens 512,1024,2048,4096,8192 --batch 32 --device cuda --warmup 10 --steps 30"
for i in 1 2; do
  PONET_MIX_ROW_BLOCKS=0 bench blocks-off-$i $a
  bench blocks-16-$i $a
  PONET_MIX_ROW_BLOCKS=8 bench blocks-8-$i $a
done
long_rows
listops_smoke
round_end
