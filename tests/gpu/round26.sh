#!/usr/bin/env bash
# Register caps for the head-size-64 row kernels (7–8 blocks per multiprocessor instead of 5–6, no spills), the
# dQ/dS pass in chunks of two rows, the bool mask read without a conversion: build, `ponet selftest --device
# cuda`, the Table 2 row for PoNet and FNet, the base shape (fused and reference, training and inference), the
# mixing alone, and ncu per-kernel times of one eager PoNet step at 2K and 16K.
# Usage on the device machine: bash tests/gpu/round26.sh OUT
source tests/gpu/lib.sh
out=${1:-$OUT}
gpu_round_start "$out"
lens=512,1024,2048,4096,8192,16384
selftest_cuda default
grep -E "packed" "$out/selftest-default.log" | head -6
bench table2 --preset lra-text --mixers ponet,fnet --lens $lens --batch 32 --device cuda --warmup 10 --steps 30
bench base --preset base --mixers ponet --lens 4096 --batch 8 --device cuda --warmup 3 --steps 10 --cuda-graphs off
bench base-ref --preset base --mixers ponet --lens 4096 --batch 8 --device cuda --warmup 3 --steps 10 --cuda-graphs off --impl reference
bench base-infer --preset base --mixers ponet,attention --lens 4096 --batch 8 --device cuda --warmup 3 --steps 10 --cuda-graphs off --mode infer
bench base-infer-ref --preset base --mixers ponet --lens 4096 --batch 8 --device cuda --warmup 3 --steps 10 --cuda-graphs off --mode infer --impl reference
echo "== bench-mixer"
for shape in "--batch 32 --length 16384 --hidden 64 --heads 2" "--batch 32 --length 4096 --hidden 64 --heads 2" "--batch 8 --length 4096 --hidden 768 --heads 12"; do
  timeout 60 $p bench-mixer --device cuda $shape --dtype bf16 --iters 20 2>&1 | tail -3
done
for len in 2048 16384; do ncu_step ponet-$len $len; done
echo "total $(( $(date +%s) - t0 )) s"
(cd "$out" && tar -czf results.tgz --remove-files *.json *.log *.txt *.csv *.err 2>/dev/null)
