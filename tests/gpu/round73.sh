#!/usr/bin/env bash
# Sixteenth session: LRA ListOps as the paper ran it (tests/gpu/reproduce-lra.sh: 2,048 tokens, batch 32, fp16,
# OneCycleLR, 5,000 steps, 96,000 generated examples), now that LRA rows are padded to the model's full length:
# PoNet with three seeds and FNet with one, side by side on the one GPU.
# Usage on the device machine: bash tests/gpu/round73.sh OUT
source tests/gpu/lib.sh
out=${1:-$OUT}
gpu_round_start "$out"
LRA_RUNS="ponet-s1 ponet-s2 ponet-s3 fnet-s1" PONET_RUN_LIMIT=300 bash tests/gpu/reproduce-lra.sh "$out" 5000
round_end
