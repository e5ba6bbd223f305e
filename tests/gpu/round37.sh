#!/usr/bin/env bash
# After review: the vector query/segment-max pass drops a NaN on its per-row path as its running path does. Build,
# the self-test with the default choice, all vector and none; the Table 2 row once with FNet.
# Usage on the device machine: bash tests/gpu/round37.sh OUT
source tests/gpu/lib.sh
out=${1:-$OUT}
gpu_round_start "$out"
selftest_cuda default; selftest_cuda all all; selftest_cuda 0 0
bench table2 --preset lra-text --mixers ponet,fnet --lens 512,1024,2048,4096,8192,16384 --batch 32 --device cuda \
  --warmup 10 --steps 30
echo "total $(( $(date +%s) - t0 )) s"
(cd "$out" && tar -czf results.tgz --remove-files *.json *.log 2>/dev/null)
