#!/usr/bin/env bash
# The PoNet layer's five projection weights stacked and cast by one kernel (was two concatenations and a cast), and
# the bias / LayerNorm parameter gradients summed over their partials by our kernel (ATen's middle-axis sum gave
# each output one thread). Build, the self-test three ways, the Table 2 row with FNet, the same with the query pass
# in the vector layout too (for a segment per token it only reads Q), the base shape against the reference path.
# Usage on the device machine: bash tests/gpu/round40.sh OUT
source tests/gpu/lib.sh
out=${1:-$OUT}
gpu_round_start "$out"
selftest_three
table2_runs 1
PONET_MIX_VECTOR=qsum,scores,fuse,rows,keys,qs bench table2-vqsum --preset lra-text --mixers ponet \
  --lens 512,1024,2048,4096,8192,16384 --batch 32 --device cuda --warmup 10 --steps 30
bench base --preset base --mixers ponet,attention --lens 4096 --batch 8 --device cuda --warmup 3 --steps 10 --cuda-graphs off
bench base-ref --preset base --mixers ponet --lens 4096 --batch 8 --device cuda --warmup 3 --steps 10 --cuda-graphs off --impl reference
ncu_step ponet-512 512; ncu_step fnet-512 512 fnet
round_end
