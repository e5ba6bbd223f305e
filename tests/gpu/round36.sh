#!/usr/bin/env bash
# The final code of the eighth session (vector layout for scores, fuse, rows, keys and qs; lane-per-channel qsum):
# build, the self-test with the default choice, with every kernel in the vector layout and with none; the Table 2 row
# twice with FNet; 32K and 64K; the mixing alone at the LRA shape (2K, 16K) with the default choice and with none.
# Usage on the device machine: bash tests/gpu/round36.sh OUT
source tests/gpu/lib.sh
out=${1:-$OUT}
gpu_round_start "$out"
lens=512,1024,2048,4096,8192,16384
selftest_cuda default; selftest_cuda all all; selftest_cuda 0 0
grep -E "fused vs reference mixing.*long rows" "$out/selftest-default.log" | grep cuda | head -6
for run in 1 2; do bench table2-$run --preset lra-text --mixers ponet,fnet --lens $lens --batch 32 --device cuda --warmup 10 --steps 30; done
bench long --preset lra-text --mixers ponet --lens 32768,65536 --batch 32 --device cuda --warmup 3 --steps 10
echo "== bench-mixer (default, then none in the vector layout)"
for shape in "--batch 32 --length 2048 --hidden 64 --heads 2" "--batch 32 --length 16384 --hidden 64 --heads 2"; do
  timeout 60 $p bench-mixer --device cuda $shape --dtype bf16 --iters 20 2>&1 | tail -3
  PONET_MIX_VECTOR=0 timeout 60 $p bench-mixer --device cuda $shape --dtype bf16 --iters 20 2>&1 | tail -2 | sed 's/^/lane /'
done
echo "total $(( $(date +%s) - t0 )) s"
(cd "$out" && tar -czf results.tgz --remove-files *.json *.log 2>/dev/null)
