#!/usr/bin/env bash
# The linear layers' bias added in fp32 as the parameter is (no cast pass per layer), 32 warps per block for the
# partial sums, and the query pass in the vector layout where a segment per token leaves it only Q to read. Build,
# the self-test three ways, the Table 2 row with FNet twice, 32K and 64K, the base shape against the reference path.
# Usage on the device machine: bash tests/gpu/round41.sh OUT
source tests/gpu/lib.sh
out=${1:-$OUT}
gpu_round_start "$out"
selftest_cuda default; selftest_cuda all all; selftest_cuda 0 0
lens=512,1024,2048,4096,8192,16384
for i in 1 2; do
  bench table2-$i --preset lra-text --mixers ponet,fnet --lens $lens --batch 32 --device cuda --warmup 10 --steps 30
done
bench long --preset lra-text --mixers ponet --lens 32768,65536 --batch 32 --device cuda --warmup 3 --steps 10
bench base --preset base --mixers ponet,attention --lens 4096 --batch 8 --device cuda --warmup 3 --steps 10 --cuda-graphs off
bench base-ref --preset base --mixers ponet --lens 4096 --batch 8 --device cuda --warmup 3 --steps 10 --cuda-graphs off --impl reference
bench base-infer --preset base --mixers ponet,attention --lens 4096 --batch 8 --device cuda --warmup 3 --steps 10 --cuda-graphs off --mode infer
bench base-infer-ref --preset base --mixers ponet --lens 4096 --batch 8 --device cuda --warmup 3 --steps 10 --cuda-graphs off --mode infer --impl reference
ncu_step ponet-512 512
echo "total $(( $(date +%s) - t0 )) s"
(cd "$out" && tar -czf results.tgz --remove-files *.json *.log *.csv *.err 2>/dev/null)
