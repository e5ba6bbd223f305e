#!/usr/bin/env bash
# The vector layout (core/kernels/cuda/ponet_mixing_vec_kernels.cu: 8 channels per lane, whole rows per 16-byte
# load) against the lane-per-channel kernels (PONET_MIX_VECTOR=0): build, `ponet selftest --device cuda` both ways,
# the Table 2 row (PoNet both ways, FNet), the mixing alone both ways, ncu per-kernel times of one eager step at 2K.
# Usage on the device machine: bash tests/gpu/round30.sh OUT
source tests/gpu/lib.sh
out=${1:-$OUT}
gpu_round_start "$out"
lens=512,1024,2048,4096,8192,16384
for v in 1 0; do selftest_cuda v$v $v; grep -E "mixing, bf16, long|packed.*bf16, long" "$out/selftest-v$v.log" | head -4; done
bench table2 --preset lra-text --mixers ponet,fnet --lens $lens --batch 32 --device cuda --warmup 10 --steps 30
PONET_MIX_VECTOR=0 bench table2-lane --preset lra-text --mixers ponet --lens $lens --batch 32 --device cuda --warmup 10 --steps 30
bench table2-again --preset lra-text --mixers ponet,fnet --lens $lens --batch 32 --device cuda --warmup 10 --steps 30
echo "== bench-mixer (vector, then lane-per-channel)"
for shape in "--batch 32 --length 2048 --hidden 64 --heads 2" "--batch 32 --length 16384 --hidden 64 --heads 2"; do
  for v in 1 0; do PONET_MIX_VECTOR=$v timeout 60 $p bench-mixer --device cuda $shape --dtype bf16 --iters 20 2>&1 | tail -2 | sed "s/^/v$v /"; done
done
ncu_step ponet-2048 2048
echo "total $(( $(date +%s) - t0 )) s"
(cd "$out" && tar -czf results.tgz --remove-files *.json *.log *.txt *.csv *.err 2>/dev/null)
