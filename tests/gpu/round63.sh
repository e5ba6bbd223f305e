#!/usr/bin/env bash
# Fourteenth session, the final code (segments read again only up to 6 tokens): the self-test, the Table 2 row,
# 32K/64K and the 100-step CUDA listops run.
# Usage on the device machine: bash tests/gpu/round63.sh OUT
source tests/gpu/lib.sh
out=${1:-$OUT}
gpu_round_start "$out"
status_checks
listops_smoke
round_end
