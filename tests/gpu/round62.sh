#!/usr/bin/env bash
# Fourteenth session: is reading each segment's rows again (vec::kLoadRunsMax) still faster than the segment tables
# for the widest segments it takes? LRA text at 20K, 24K and 28K tokens (fixed segments of 6, 7 and 8 tokens), with
# the tables (PONET_MIX_SEGMENT_RUNS=0) and without, alternating, twice.
# Usage on the device machine: bash tests/gpu/round62.sh OUT
source tests/gpu/lib.sh
out=${1:-$OUT}
gpu_round_start "$out"
segment_runs_ab wide 20480,24576,28672 --warmup 5 --steps 20
round_end
