#!/usr/bin/env bash
# Fourteenth session: fixed segments of other widths up to 8 tokens (6 since round62; LRA text at 8K: 3, at 16K: 5)
# skip the segment tables, each row reading its segment's rows again (vec::kLoadRunsMax). The self-test, the Table 2
# row, the 8K and 16K cells with the tables (PONET_MIX_SEGMENT_RUNS=0) and without, alternating, 32K/64K, and the
# 8K step's kernels.
# Usage on the device machine: bash tests/gpu/round60.sh OUT
source tests/gpu/lib.sh
out=${1:-$OUT}
gpu_round_start "$out"
segment_round 8192,16384
long_rows
NCU_CACHE=none ncu_step ponet8192 8192 ponet
round_end
