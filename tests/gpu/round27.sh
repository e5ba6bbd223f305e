#!/usr/bin/env bash
# Rows per warp again, after the register caps of round26 (more blocks per multiprocessor may move the best
# choice): build, then the Table 2 row for PoNet with PONET_MIX_ROWS_PER_WARP = 4 … 64 and with the built-in
# choice, FNet beside the first and last. Usage on the device machine: bash tests/gpu/round27.sh OUT
source tests/gpu/lib.sh
out=${1:-$OUT}
gpu_round_start "$out"
lens=512,1024,2048,4096,8192,16384
b() { local name=$1; shift; timeout 100 $p bench --preset lra-text --lens $lens --batch 32 --device cuda --warmup 10 --steps 30 --no-cache \
  --json "$out/$name.json" "$@" 2>&1 | grep -E '^(ponet|fnet) +\|' | head -2 | sed "s/^/$name: /"; }
b default --mixers ponet,fnet
for r in 4 8 16 32 64; do PONET_MIX_ROWS_PER_WARP=$r b rpw$r --mixers ponet; done
b default2 --mixers ponet,fnet
echo "total $(( $(date +%s) - t0 )) s"
(cd "$out" && tar -czf results.tgz --remove-files *.json *.log 2>/dev/null)
