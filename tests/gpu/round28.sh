#!/usr/bin/env bash
# The rows-per-warp choice from round27 built in (32 rows per warp from 128K rows, 64 from 512K): build, the
# self-test on cuda, the Table 2 row for PoNet and FNet twice. Usage on the device machine: bash tests/gpu/round28.sh OUT
source tests/gpu/lib.sh
out=${1:-$OUT}
gpu_round_start "$out"
timeout 120 $p selftest --device cuda > "$out/selftest.log" 2>&1; echo "selftest exit $?"; grep -E "^FAIL" "$out/selftest.log" | head; tail -1 "$out/selftest.log"
lens=512,1024,2048,4096,8192,16384
for run in 1 2; do
  timeout 100 $p bench --preset lra-text --mixers ponet,fnet --lens $lens --batch 32 --device cuda --warmup 10 --steps 30 --no-cache \
    --json "$out/table2-$run.json" 2>&1 | grep -E '^(ponet|fnet) +\|' | head -2 | sed "s/^/run $run: /"
done
echo "total $(( $(date +%s) - t0 )) s"
(cd "$out" && tar -czf results.tgz --remove-files *.json *.log 2>/dev/null)
