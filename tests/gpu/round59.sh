#!/usr/bin/env bash
# Fourteenth session: fixed segments of 2 or 4 tokens (LRA text from 4,096 to 8,191 and from 12,288 to 16,383
# tokens) skip the segment tables as a segment per token did (Problem::seg_width). The self-test, the Table 2 row,
# the 4K and 12K cells with the tables (PONET_MIX_SEGMENT_RUNS=0) and without, alternating, and the 4K step's
# kernels.
# Usage on the device machine: bash tests/gpu/round59.sh OUT
source tests/gpu/lib.sh
out=${1:-$OUT}
gpu_round_start "$out"
segment_round 4096,12288
NCU_CACHE=none ncu_step ponet4096 4096 ponet
round_end
