#!/usr/bin/env bash
# Twelfth session's check of the final kernels (those of round50): the self-test, the Table 2 row with FNet once
# more, PoNet at 32K and 64K, and the base shape (fused, reference and attention, training and inference), which the
# output projection's merged weight cast also reaches.
# Usage on the device machine: bash tests/gpu/round51.sh OUT
source tests/gpu/lib.sh
out=${1:-$OUT}
gpu_round_start "$out"
status_checks
base_shape
round_end
