#!/usr/bin/env bash
# A segment per token (the lra-text preset below 4,096 tokens) without SMP's segment tables: no -inf fill, no
# segment atomics, the fusion pass takes each maximum from its row, the rows pass writes dS. Build, the self-test
# (default, all vector, none: its two new per-token cases run both ways), the Table 2 row with FNet, the same with
# PONET_MIX_PER_TOKEN=0 (the tables as before), one eager step at 512 and 2K under ncu.
# Usage on the device machine: bash tests/gpu/round39.sh OUT
source tests/gpu/lib.sh
out=${1:-$OUT}
gpu_round_start "$out"
selftest_three
table2_runs 1
PONET_MIX_PER_TOKEN=0 bench table2-tables --preset lra-text --mixers ponet,fnet --lens 512,1024,2048,4096,8192,16384 \
  --batch 32 --device cuda --warmup 10 --steps 30
ncu_step ponet-512 512; ncu_step ponet-2048 2048
round_end
