#!/usr/bin/env bash
# After the seventh session's kernel changes: PoNet at 32K and 64K tokens (Table 2 setting), and the mixing alone on
# the CPU (all cores; the CPU kernels did not change). Usage on the device machine: bash tests/gpu/round29.sh OUT
source tests/gpu/lib.sh
out=${1:-$OUT}
gpu_round_start "$out"
timeout 200 $p bench --preset lra-text --mixers ponet --lens 32768,65536 --batch 32 --device cuda --warmup 3 --steps 10 --no-cache \
  --json "$out/table2-longest.json" 2>&1 | grep -A2 -E '^steps/s'
timeout 60 $p bench-mixer --device cpu --iters 10 --warmup 2 2>&1 | tail -3
echo "total $(( $(date +%s) - t0 )) s"
(cd "$out" && tar -czf results.tgz --remove-files *.json *.log 2>/dev/null)
