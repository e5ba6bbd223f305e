#!/usr/bin/env bash
# The final code of the eighth session (vector layout for scores, fuse, rows, keys and qs; lane-per-channel qsum):
# build, the self-test with the default choice, with every kernel in the vector layout and with none; the Table 2 row
# twice with FNet; 32K and 64K; the mixing alone at the LRA shape (2K, 16K) with the default choice and with none.
# Usage on the device machine: bash tests/gpu/round36.sh OUT
source tests/gpu/lib.sh
out=${1:-$OUT}
gpu_round_start "$out"
p=build-gpu/ponet
export PONET_RESOURCES_DIR=$PWD/resources
lens=512,1024,2048,4096,8192,16384
bench() { local name=$1; shift; echo "== $name: ponet bench $*"; timeout 150 $p bench "$@" --no-cache --json "$out/$name.json" 2>&1 |
  grep -E '^(ponet|fnet) +\|' | head -2; }
for v in default all 0; do
  t=$(date +%s)
  if [ $v = default ]; then timeout 150 $p selftest --device cuda --verbose > "$out/selftest-$v.log" 2>&1
  else PONET_MIX_VECTOR=$v timeout 150 $p selftest --device cuda --verbose > "$out/selftest-$v.log" 2>&1; fi
  echo "selftest ($v) exit $? ($(( $(date +%s) - t )) s)"; grep -E "^FAIL" "$out/selftest-$v.log" | head -20
  tail -1 "$out/selftest-$v.log"
done
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
