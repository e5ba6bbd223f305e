#!/usr/bin/env bash
# The PoNet projections as one autograd op (stacked weights kept, their gradient straight from cuBLAS in fp32:
# no cast pass per layer). Build, the self-test three ways,
# the Table 2 row twice with FNet, one eager step at 512 under ncu.
# Usage on the device machine: bash tests/gpu/round44.sh OUT
source tests/gpu/lib.sh
out=${1:-$OUT}
gpu_round_start "$out"
selftest_cuda default; selftest_cuda all all; selftest_cuda 0 0
lens=512,1024,2048,4096,8192,16384
for i in 1 2; do
  bench table2-$i --preset lra-text --mixers ponet,fnet --lens $lens --batch 32 --device cuda --warmup 10 --steps 30
done
ncu_step ponet-512 512; ncu_step fnet-512 512 fnet
echo "total $(( $(date +%s) - t0 )) s"
(cd "$out" && tar -czf results.tgz --remove-files *.json *.log *.csv *.err 2>/dev/null)
