#!/usr/bin/env bash
# Packed projections (one product for PoNet's five, biases added by the mixing) and the mixing kernels without
# per-row 64-bit division: build, the self-test on every device, the Table 2 row with and without packing
# (PONET_PACKED_PROJECTIONS=0) side by side, eager steps, the base shape, the mixing alone, and ncu per-kernel
# profiles of one PoNet step at 16K and of PoNet and FNet steps at 512.
# Usage on the device machine: bash tests/gpu/round17.sh OUT
source tests/gpu/lib.sh
out=${1:-$OUT}
gpu_round_start "$out"
strip -o "$out/ponet" build-gpu/ponet
p=build-gpu/ponet
export PONET_RESOURCES_DIR=$PWD/resources
steps() {
  t=$(date +%s)
  timeout 150 $p selftest > "$out/selftest.log" 2>&1; echo "selftest exit $? ($(( $(date +%s) - t )) s)"
  grep -E "^FAIL" "$out/selftest.log" | head -20; tail -1 "$out/selftest.log"
  grep -E "packed" "$out/selftest.log" | head -12
  bench() { local name=$1; shift; echo "== $name: ponet bench $*"; timeout 120 $p bench "$@" --json "$out/$name.json" 2>&1 | grep -vE '^\s*$|^median of|^memory:|^device:|^  [a-z]+ at [0-9]+: [0-9.]+ steps' | tail -8; }
  lens=512,1024,2048,4096,8192,16384
  bench table2 --preset lra-text --mixers ponet,fnet --lens $lens --batch 32 --device cuda --warmup 10 --steps 30
  PONET_PACKED_PROJECTIONS=0 bench table2-unpacked --preset lra-text --mixers ponet --lens $lens --batch 32 --device cuda --warmup 10 --steps 30
  echo "== bench-mixer"
  for shape in "--batch 32 --length 16384 --hidden 64 --heads 2 --dtype bf16" "--batch 32 --length 512 --hidden 64 --heads 2 --dtype bf16"; do
    timeout 60 $p bench-mixer --device cuda $shape --iters 20 2>&1 | tail -4
  done
  if command -v ncu >/dev/null; then
    prof() { local name=$1; shift; timeout 100 ncu --clock-control none --metrics gpu__time_duration.sum --csv --page raw \
        $p bench --preset lra-text --batch 32 --device cuda --warmup 1 --steps 1 --cuda-graphs off --no-cache "$@" \
        > "$out/ncu-$name.csv" 2> "$out/ncu-$name.err"; echo "== ncu $name exit $?"
      python3 tests/gpu/ncu_summary.py "$out/ncu-$name.csv" 2 > "$out/ncu-$name.txt"; head -${NCU_LINES:-26} "$out/ncu-$name.txt"; }
    prof ponet-16384 --mixers ponet --lens 16384
    NCU_LINES=8 prof fnet-16384 --mixers fnet --lens 16384
    prof ponet-512 --mixers ponet --lens 512
    prof fnet-512 --mixers fnet --lens 512
  fi
  bench table2-eager --preset lra-text --mixers ponet,fnet --lens $lens --batch 32 --device cuda --warmup 10 --steps 30 --cuda-graphs off
  bench base4096 --preset base --mixers ponet --lens 4096 --batch 8 --device cuda --warmup 3 --steps 10 --cuda-graphs off
  PONET_PACKED_PROJECTIONS=0 bench base4096-unpacked --preset base --mixers ponet --lens 4096 --batch 8 --device cuda --warmup 3 --steps 10 --cuda-graphs off
}
export -f steps 2>/dev/null
timeout ${BUDGET_S:-330} bash -c "$(declare -f steps); p=$p; out=$out; PONET_RESOURCES_DIR=$PONET_RESOURCES_DIR; steps"
echo "total $(( $(date +%s) - t0 )) s"
(cd "$out" && tar -czf results.tgz --remove-files *.json *.log *.txt *.csv *.err 2>/dev/null)
