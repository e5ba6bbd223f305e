#!/usr/bin/env bash
# Twelfth session: round49's merges only where a row has at most 16 partials (they cost time at 8K–16K), the
# backward row, key and dQ passes' bias and g gradients summed with one set of barriers, and the output projection's
# weight cast by PoNet's stacking kernel (one launch per layer fewer). The self-test the three ways, the Table 2 row
# with FNet twice (FNet, untouched, is the control against round48/49), the 512-token PoNet step kernel by kernel,
# and a short CUDA training run.
# Usage on the device machine: bash tests/gpu/round50.sh OUT
source tests/gpu/lib.sh
out=${1:-$OUT}
gpu_round_start "$out"
mixing_round
listops_smoke
round_end
