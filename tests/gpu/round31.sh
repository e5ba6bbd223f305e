#!/usr/bin/env bash
# The vector layout after round30 (segment maxima looked up once per segment, per-block bias-gradient sums, the
# segment flushes moved back to the lane-per-channel layout): build, the self-test both ways, ncu per-kernel times of
# one eager step at 2K both ways, the Table 2 row with all kernels in the vector layout, with none, and FNet.
# PONET_MIX_VECTOR picks the kernels (core/kernels/cuda/ponet_mixing_vec.h). Usage: bash tests/gpu/round31.sh OUT
source tests/gpu/lib.sh
out=${1:-$OUT}
gpu_round_start "$out"
lens=512,1024,2048,4096,8192,16384
for v in 1 0; do selftest_cuda v$v $v; done
for v in 1 0; do PONET_MIX_VECTOR=$v ncu_step v$v-2048 2048; done
bench table2 --preset lra-text --mixers ponet,fnet --lens $lens --batch 32 --device cuda --warmup 10 --steps 30
PONET_MIX_VECTOR=0 bench table2-lane --preset lra-text --mixers ponet --lens $lens --batch 32 --device cuda --warmup 10 --steps 30
PONET_MIX_VECTOR=scores,fuse,keys,qs bench table2-hybrid --preset lra-text --mixers ponet --lens $lens --batch 32 --device cuda --warmup 10 --steps 30
echo "total $(( $(date +%s) - t0 )) s"
(cd "$out" && tar -czf results.tgz --remove-files *.json *.log *.txt *.csv *.err 2>/dev/null)
