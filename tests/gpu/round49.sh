#!/usr/bin/env bash
# Twelfth session: the vector scores, fusion and key passes merge the partials before them themselves (no fwd_qmean,
# fwd_combine or bwd_softmax_dot launches in the vector layout). The self-test the three ways, the Table 2 row with
# FNet twice, and the 512-token PoNet step kernel by kernel (L2 kept warm) to set against round48's.
# Usage on the device machine: bash tests/gpu/round49.sh OUT
source tests/gpu/lib.sh
out=${1:-$OUT}
gpu_round_start "$out"
mixing_round
round_end
