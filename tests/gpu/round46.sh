#!/usr/bin/env bash
# After the final tidy (weight_gradient helper, stacking kernel, std::tie): build, the self-test three ways, the Table 2
# row once with FNet. Usage on the device machine: bash tests/gpu/round46.sh OUT
source tests/gpu/lib.sh
out=${1:-$OUT}
gpu_round_start "$out"
selftest_three
table2_runs 1
round_end
