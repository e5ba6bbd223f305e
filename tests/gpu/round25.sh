#!/usr/bin/env bash
# Chunked row kernels (fusion, the backward's row pass, dQ/dS): a warp issues the loads of U rows together. Build
# with U = 4 (head-size-64 problems), `ponet selftest --device cuda`, the Table 2 row for PoNet and FNet, the base
# shape (fused and reference, training and inference) and the mixing alone; then rebuild the kernels with U = 2 and
# repeat the self-test and the PoNet row. Stripped binaries of both in OUT. Usage: bash tests/gpu/round25.sh OUT
source tests/gpu/lib.sh
out=${1:-$OUT}
gpu_round_start "$out"
lens=512,1024,2048,4096,8192,16384
selftest_cuda u4
bench table2-u4 --preset lra-text --mixers ponet,fnet --lens $lens --batch 32 --device cuda --warmup 10 --steps 30
strip -o "$out/ponet-u4" $p
echo "== base shape"
bench base-u4 --preset base --mixers ponet --lens 4096 --batch 8 --device cuda --warmup 3 --steps 10 --cuda-graphs off
bench base-ref --preset base --mixers ponet --lens 4096 --batch 8 --device cuda --warmup 3 --steps 10 --cuda-graphs off --impl reference
bench base-infer-u4 --preset base --mixers ponet --lens 4096 --batch 8 --device cuda --warmup 3 --steps 10 --cuda-graphs off --mode infer
bench base-infer-ref --preset base --mixers ponet --lens 4096 --batch 8 --device cuda --warmup 3 --steps 10 --cuda-graphs off --mode infer --impl reference
echo "== bench-mixer"
for shape in "--batch 32 --length 16384 --hidden 64 --heads 2" "--batch 32 --length 4096 --hidden 64 --heads 2" "--batch 8 --length 4096 --hidden 768 --heads 12"; do
  timeout 60 $p bench-mixer --device cuda $shape --dtype bf16 --iters 20 2>&1 | tail -3
done
echo "== elapsed $(( $(date +%s) - t0 )) s; rebuilding with U = 2"
sed -i 's/^#define PONET_MIX_CHUNK_ROWS .*/#define PONET_MIX_CHUNK_ROWS 2/' core/kernels/cuda/ponet_mixing_kernels.cu
cmake --build build-gpu --target ponet -j16 > "$out/build-u2.log" 2>&1 || { grep -E "error" -A3 "$out/build-u2.log" | head; }
echo "rebuilt at $(( $(date +%s) - t0 )) s"
selftest_cuda u2
bench table2-u2 --preset lra-text --mixers ponet --lens $lens --batch 32 --device cuda --warmup 10 --steps 30
strip -o "$out/ponet-u2" $p
echo "total $(( $(date +%s) - t0 )) s"
(cd "$out" && tar -czf results.tgz --remove-files *.json *.log 2>/dev/null)
