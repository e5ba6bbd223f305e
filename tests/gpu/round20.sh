#!/usr/bin/env bash
# The final measurements of the sixth session (packed projections, a deterministic query mean, loads one row ahead,
# rows per warp from round19's sweep): build, the self-test on every device, the Table 2 row (graphs auto, and
# without packing side by side), eager steps, 32K/64K, the reference path, the base shape (training and
# inference), the mixing alone, the CPU mixing and CPU training steps, an ncu per-kernel profile at 16K.
# Usage on the device machine: bash tests/gpu/round20.sh OUT
source tests/gpu/lib.sh
out=${1:-$OUT}
gpu_round_start "$out"
steps() {
  t=$(date +%s)
  timeout 150 $p selftest --verbose > "$out/selftest.log" 2>&1; echo "selftest exit $? ($(( $(date +%s) - t )) s)"
  grep -E "^FAIL" "$out/selftest.log" | head -20; tail -1 "$out/selftest.log"
  grep -E "packed|explicit segment" "$out/selftest.log" | head -14
  bench() { local name=$1; shift; echo "== $name: ponet bench $*"; timeout 120 $p bench "$@" --json "$out/$name.json" 2>&1 | grep -vE '^\s*$|^median of|^memory:|^device:|^  [a-z]+ at [0-9]+: [0-9.]+ steps' | tail -8; }
  lens=512,1024,2048,4096,8192,16384
  bench table2 --preset lra-text --mixers ponet,fnet --lens $lens --batch 32 --device cuda --warmup 10 --steps 30
  PONET_PACKED_PROJECTIONS=0 bench table2-unpacked --preset lra-text --mixers ponet --lens $lens --batch 32 --device cuda --warmup 10 --steps 30
  bench table2-eager --preset lra-text --mixers ponet,fnet --lens $lens --batch 32 --device cuda --warmup 10 --steps 30 --cuda-graphs off
  echo "== bench-mixer"
  for shape in "--batch 32 --length 16384 --hidden 64 --heads 2 --dtype bf16" "--batch 32 --length 4096 --hidden 64 --heads 2 --dtype bf16" \
               "--batch 8 --length 4096 --hidden 768 --heads 12 --dtype bf16"; do
    timeout 60 $p bench-mixer --device cuda $shape --iters 20 2>&1 | tail -4
  done
  bench base4096 --preset base --mixers ponet,attention --lens 4096 --batch 8 --device cuda --warmup 3 --steps 10 --cuda-graphs off
  PONET_PACKED_PROJECTIONS=0 bench base4096-unpacked --preset base --mixers ponet --lens 4096 --batch 8 --device cuda --warmup 3 --steps 10 --cuda-graphs off
  bench base4096-ref --preset base --mixers ponet --lens 4096 --batch 8 --device cuda --impl reference --warmup 3 --steps 10 --cuda-graphs off
  bench base4096-infer --preset base --mixers ponet,attention --lens 4096 --batch 8 --device cuda --mode infer --warmup 3 --steps 10 --cuda-graphs off
  bench base4096-infer-ref --preset base --mixers ponet --lens 4096 --batch 8 --device cuda --mode infer --impl reference --warmup 3 --steps 10 --cuda-graphs off
  bench table2-longest --preset lra-text --mixers ponet --lens 32768,65536 --batch 32 --device cuda --warmup 3 --steps 10
  bench table2-ref --preset lra-text --mixers ponet --lens 4096,8192,16384 --batch 32 --device cuda --warmup 10 --steps 30 --impl reference
  echo "== CPU mixing alone, all cores"
  timeout 60 $p bench-mixer --device cpu --iters 10 --warmup 2 2>&1 | tail -3
  for impl in fused reference; do
    timeout 60 $p bench --preset lra-text --mixers ponet --lens 4096 --batch 8 --device cpu --impl $impl --steps 3 --warmup 1 --no-cache 2>&1 | grep -E "^ponet  " | sed "s/^/cpu train 4096 b8 $impl: /"
  done
  if command -v ncu >/dev/null; then
    timeout 100 ncu --clock-control none --metrics gpu__time_duration.sum --csv --page raw \
        $p bench --preset lra-text --batch 32 --device cuda --warmup 1 --steps 1 --cuda-graphs off --no-cache --mixers ponet --lens 16384 \
        > "$out/ncu-ponet-16384.csv" 2> "$out/ncu-ponet-16384.err"; echo "== ncu exit $?"
    python3 tests/gpu/ncu_summary.py "$out/ncu-ponet-16384.csv" 2 > "$out/ncu-ponet-16384.txt"; head -16 "$out/ncu-ponet-16384.txt"
  fi
}
export p=build-gpu/ponet out PONET_RESOURCES_DIR=$PWD/resources
timeout ${BUDGET_S:-360} bash -c "$(declare -f steps); steps"
echo "total $(( $(date +%s) - t0 )) s"
(cd "$out" && tar -czf results.tgz --remove-files *.json *.log *.txt *.csv *.err 2>/dev/null)
