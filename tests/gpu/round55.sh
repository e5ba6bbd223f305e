#!/usr/bin/env bash
# Thirteenth session: what follows the linear layers' products as one kernel each way (linear_dropout_add: bias,
# dropout and residual add after the mixer's output projection and the MLP's second layer; linear_activation_dropout:
# bias, activation and dropout after the MLP's first). The self-test, the Table 2 row with them off
# (PONET_LINEAR_EPILOGUES=0) and on in one call, one 512 step under ncu (L2 kept warm), a short CUDA training run,
# then the row's off/on pair once more and the base shape as time allows.
# Usage on the device machine: bash tests/gpu/round55.sh OUT
source tests/gpu/lib.sh
out=${1:-$OUT}
gpu_round_start "$out"
selftest_epilogues
epilogues_ab 1
NCU_CACHE=none ncu_step ponet512 512 ponet
grep -c "FillFunctor<c10::BFloat16" "$out/ncu-ponet512-step.txt"
listops_smoke
NCU_CACHE=none ncu_step fnet512 512 fnet
echo "at $(( $(date +%s) - t0 )) s"
epilogues_ab 2
bench base --preset base --lens 4096 --batch 8 --device cuda --warmup 3 --steps 10 --cuda-graphs off --mixers ponet,attention
round_end
