#!/usr/bin/env bash
# Fourteenth session: the fusion pass held to 96 registers for 5 blocks per multiprocessor (PONET_MIX_FUSE_BLOCKS=5,
# a 12-byte spill in bf16) against its 4 blocks: the self-test with 5, then the PoNet row each way, alternating,
# twice.
# It ran at commit 580ad65; the knob was removed after it (no gain: 4 blocks 1298-1301 / 1019-1022 / 652-654 / 383 /
# 208-209 / 112 steps/s, 5 blocks 1299-1303 / 1019-1021 / 651-653 / 382 / 207-208 / 111).
# Usage on the device machine: bash tests/gpu/round64.sh OUT
source tests/gpu/lib.sh
out=${1:-$OUT}
gpu_round_start "$out"
export PONET_MIX_FUSE_BLOCKS=5; selftest_cuda fuse5; unset PONET_MIX_FUSE_BLOCKS
for i in 1 2; do
  table2_runs 1 ponet; mv "$out/table2.json" "$out/fuse4-$i.json"
  export PONET_MIX_FUSE_BLOCKS=5; table2_runs 1 ponet; unset PONET_MIX_FUSE_BLOCKS
  mv "$out/table2.json" "$out/fuse5-$i.json"
done
round_end
