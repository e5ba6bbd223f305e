#!/usr/bin/env bash
# The ninth session's final status (after rounds 38-44): build, the self-test three ways, the Table 2 row twice with
# FNet, 32K and 64K, the base shape fused and reference (training and inference).
# Usage on the device machine: bash tests/gpu/round45.sh OUT
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
grep -E "packed fused vs reference mixing.*long rows" "$out/selftest-default.log" | grep cuda | head -4
echo "total $(( $(date +%s) - t0 )) s"
(cd "$out" && tar -czf results.tgz --remove-files *.json *.log 2>/dev/null)
