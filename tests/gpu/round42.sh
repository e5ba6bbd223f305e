#!/usr/bin/env bash
# After review: the packed backward's bias gradient is its own tensor again (zeroed by the backward: a view into the
# scratch kept all of it alive as the biases' gradient); the vector query and score passes leave one partial per
# block instead of per warp (the combine kernels read a quarter); the LRA pooling mean by our partial-sum kernel.
# Build, the self-test three ways, the Table 2 row twice with FNet, 32K/64K, one eager step at 512 and 2K under ncu.
# Usage on the device machine: bash tests/gpu/round42.sh OUT
source tests/gpu/lib.sh
out=${1:-$OUT}
gpu_round_start "$out"
selftest_cuda default; selftest_cuda all all; selftest_cuda 0 0
lens=512,1024,2048,4096,8192,16384
for i in 1 2; do
  bench table2-$i --preset lra-text --mixers ponet,fnet --lens $lens --batch 32 --device cuda --warmup 10 --steps 30
done
bench long --preset lra-text --mixers ponet --lens 32768,65536 --batch 32 --device cuda --warmup 3 --steps 10
ncu_step ponet-512 512; ncu_step ponet-2048 2048
echo "total $(( $(date +%s) - t0 )) s"
(cd "$out" && tar -czf results.tgz --remove-files *.json *.log *.csv *.err 2>/dev/null)
