#!/usr/bin/env bash
# Rows per warp for the vector layout (4 rows a step, so 16 rows are 4 steps): the Table 2 row with the default
# kernel choice under PONET_MIX_ROWS_PER_WARP=4, 8, 16, 32 and the built-in choice, FNet alongside.
# Usage on the device machine: bash tests/gpu/round34.sh OUT
source tests/gpu/lib.sh
out=${1:-$OUT}
gpu_round_start "$out"
lens=512,1024,2048,4096,8192,16384
selftest_cuda default
bench table2 --preset lra-text --mixers ponet,fnet --lens $lens --batch 32 --device cuda --warmup 10 --steps 30
for r in 4 8 16 32; do
  PONET_MIX_ROWS_PER_WARP=$r bench table2-rpw$r --preset lra-text --mixers ponet --lens $lens --batch 32 --device cuda --warmup 10 --steps 30
done
echo "total $(( $(date +%s) - t0 )) s"
(cd "$out" && tar -czf results.tgz --remove-files *.json *.log 2>/dev/null)
