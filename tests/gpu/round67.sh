#!/usr/bin/env bash
# Fifteenth session: where the one-kernel mixing passes pay. By default they now run only where a batch row's blocks
# must take more rows per warp to number at most 16 (2K and 4K, up to 64 rows per warp). This round times, at 2K to
# 16K, alternating, twice: the separate kernels (PONET_MIX_ONE_KERNEL=0), the default, the one-kernel passes with up
# to 256 rows per warp (8K, 16K), and the separate kernels with the same stretched rows per warp
# (PONET_MIX_ROWS_PER_WARP). Also the self-test by default and with the passes wherever they fit, training runs
# with and without them (the tiny ListOps preset with fixed segments), the Table 2 row and the 2K step's kernels.
# Usage on the device machine, at commit ec0aecf (the one-kernel passes, reverted after round67):
# bash tests/gpu/round67.sh OUT
source tests/gpu/lib.sh
out=${1:-$OUT}
gpu_round_start "$out"
selftest_cuda default
PONET_MIX_ONE_KERNEL=rows selftest_cuda rows
for prec in fp32 bf16; do
  PONET_MIX_ONE_KERNEL=0 fixed_run separate-$prec 20 $prec
  PONET_MIX_ONE_KERNEL=rows fixed_run one-kernel-$prec 20 $prec
done
table2_runs 1
a="--preset lra-text --mixers ponet --batch 32 --device cuda --warmup 10 --steps 30"
for i in 1 2; do
  PONET_MIX_ONE_KERNEL=0 bench off-$i $a --lens 2048,4096,8192,16384
  bench default-$i $a --lens 2048,4096,8192,16384
  PONET_MIX_ONE_KERNEL_RPW=256 bench wide-$i $a --lens 8192,16384
  for lr in 2048:32 4096:64 8192:128 16384:256; do
    PONET_MIX_ONE_KERNEL=0 PONET_MIX_ROWS_PER_WARP=${lr#*:} bench sep-${lr%:*}-$i $a --lens ${lr%:*}
  done
done
NCU_CACHE=none ncu_step ponet2048 2048 ponet
round_end
