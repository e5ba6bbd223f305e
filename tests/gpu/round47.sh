#!/usr/bin/env bash
# Eleventh session's check of the final code on a GPU (build_model's architecture check was factored out and the
# model summary counts from the configuration): build, the self-test, the Table 2 row once with FNet, `ponet info`
# on the base model, and a short CUDA training run of the first-run example.
# Usage on the device machine: bash tests/gpu/round47.sh OUT
source tests/gpu/lib.sh
out=${1:-$OUT}
gpu_round_start "$out"
selftest_cuda default
table2_runs 1
echo "== ponet info --model resources/models/ponet-base-uncased"
/usr/bin/time -f "info: %e s, %M KB max RSS" "$p" info --model resources/models/ponet-base-uncased 2>&1 | tail -4
listops_smoke
round_end
