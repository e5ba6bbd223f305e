#!/usr/bin/env bash
# After review: the vector query/segment-max pass drops a NaN on its per-row path as its running path does. Build,
# the self-test with the default choice, all vector and none; the Table 2 row once with FNet.
# Usage on the device machine: bash tests/gpu/round37.sh OUT
source tests/gpu/lib.sh
out=${1:-$OUT}
gpu_round_start "$out"
p=build-gpu/ponet
export PONET_RESOURCES_DIR=$PWD/resources
for v in default all 0; do
  if [ $v = default ]; then timeout 150 $p selftest --device cuda > "$out/selftest-$v.log" 2>&1
  else PONET_MIX_VECTOR=$v timeout 150 $p selftest --device cuda > "$out/selftest-$v.log" 2>&1; fi
  echo "selftest ($v) exit $?"; grep -E "^FAIL" "$out/selftest-$v.log" | head -20; tail -1 "$out/selftest-$v.log"
done
timeout 150 $p bench --preset lra-text --mixers ponet,fnet --lens 512,1024,2048,4096,8192,16384 --batch 32 --device cuda \
  --warmup 10 --steps 30 --no-cache --json "$out/table2.json" 2>&1 | grep -E '^(ponet|fnet) +\|' | head -2
echo "total $(( $(date +%s) - t0 )) s"
(cd "$out" && tar -czf results.tgz --remove-files *.json *.log 2>/dev/null)
