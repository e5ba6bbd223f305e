#!/usr/bin/env bash
# The vector layout's qsum and rows kernels with a segment per token (the lra-text model: segment_num 4096, so every
# step of 4 rows spans 4 segments): per-row atomics through shared memory, 32 consecutive words per instruction.
# Build, the self-test with every kernel in the vector layout and with none, ncu per-kernel times at 2K (all vector;
# none), the Table 2 row with each choice and FNet. Usage on the device machine: bash tests/gpu/round33.sh OUT
source tests/gpu/lib.sh
out=${1:-$OUT}
gpu_round_start "$out"
lens=512,1024,2048,4096,8192,16384
for v in all 0; do selftest_cuda $v $v; done
for v in all 0; do PONET_MIX_VECTOR=$v ncu_step $v-2048 2048; done
PONET_MIX_VECTOR=all bench table2-all --preset lra-text --mixers ponet,fnet --lens $lens --batch 32 --device cuda --warmup 10 --steps 30
bench table2-default --preset lra-text --mixers ponet --lens $lens --batch 32 --device cuda --warmup 10 --steps 30
PONET_MIX_VECTOR=0 bench table2-lane --preset lra-text --mixers ponet --lens $lens --batch 32 --device cuda --warmup 10 --steps 30
PONET_MIX_VECTOR=scores,fuse,keys,qs,qsum bench table2-qsum --preset lra-text --mixers ponet --lens $lens --batch 32 --device cuda --warmup 10 --steps 30
echo "total $(( $(date +%s) - t0 )) s"
(cd "$out" && tar -czf results.tgz --remove-files *.json *.log *.csv *.err 2>/dev/null)
