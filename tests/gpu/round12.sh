#!/usr/bin/env bash
# The final GPU call of a round: build, the self-test on every device, the Table 2 setting as `ponet bench` runs it
# by default (CUDA graphs where auto puts them) and without graphs, for PoNet and FNet in one process; the reference
# path; 32K and 64K; the base shape at 4K (fused, reference, attention; training and inference); the mixing alone
# against its bandwidth floor; the CPU mixing and CPU training steps on all cores; an ncu per-kernel profile at 16K.
# Usage on the device machine: bash tests/gpu/round12.sh OUT   (SKIP_PROFILE=1 skips ncu)
source tests/gpu/lib.sh
out=${1:-$OUT}
mkdir -p "$out"
t0=$(date +%s)
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
gpu_build "$out" || exit 1
echo "build $(( $(date +%s) - t0 )) s"
p=build-gpu/ponet
export PONET_RESOURCES_DIR=$PWD/resources
t=$(date +%s)
$p selftest > "$out/selftest.log" 2>&1; echo "selftest exit $? ($(( $(date +%s) - t )) s)"
grep -E "^FAIL" "$out/selftest.log" | head -20; tail -2 "$out/selftest.log"; $p selftest --device cuda --verbose 2>&1 | grep -iE "layernorm|linear" | head -8
bench() { local name=$1; shift; echo "== $name: ponet bench $*"; $p bench "$@" --json "$out/$name.json" 2>&1 | grep -vE '^\s*$|^median of|^memory:|^device:|^  [a-z]+ at [0-9]+: [0-9.]+ steps' | tail -14; }
lens=512,1024,2048,4096,8192,16384
bench table2 --preset lra-text --mixers ponet,fnet --lens $lens --batch 32 --device cuda --warmup 10 --steps 30
bench table2-ref --preset lra-text --mixers ponet --lens 4096,8192,16384 --batch 32 --device cuda --warmup 10 --steps 30 --impl reference
bench table2-eager --preset lra-text --mixers ponet,fnet --lens $lens --batch 32 --device cuda --warmup 10 --steps 30 --cuda-graphs off
bench table2-longest --preset lra-text --mixers ponet --lens 32768,65536 --batch 32 --device cuda --warmup 3 --steps 10
bench base4096-fused --preset base --mixers ponet --lens 4096 --batch 8 --device cuda --impl fused --warmup 3 --steps 10 --cuda-graphs off
bench base4096-ref --preset base --mixers ponet --lens 4096 --batch 8 --device cuda --impl reference --warmup 3 --steps 10 --cuda-graphs off
bench base4096-attention --preset base --mixers attention --lens 4096 --batch 8 --device cuda --warmup 3 --steps 10 --cuda-graphs off
bench base4096-infer --preset base --mixers ponet,attention --lens 4096 --batch 8 --device cuda --mode infer --warmup 3 --steps 10 --cuda-graphs off
bench base4096-infer-ref --preset base --mixers ponet --lens 4096 --batch 8 --device cuda --mode infer --impl reference --warmup 3 --steps 10 --cuda-graphs off
echo "== bench-mixer (the mixing alone, with its bandwidth floor)"
for shape in "--batch 32 --length 16384 --hidden 64 --heads 2 --dtype bf16" "--batch 32 --length 4096 --hidden 64 --heads 2 --dtype bf16" \
             "--batch 8 --length 4096 --hidden 768 --heads 12 --dtype bf16"; do
  $p bench-mixer --device cuda $shape --iters 20 2>&1 | tail -4
done
echo "== CPU mixing alone, all cores"
$p bench-mixer --device cpu --iters 10 --warmup 2 2>&1 | tail -5
$p bench-mixer --device cpu --iters 10 --warmup 2 --dtype bf16 2>&1 | tail -3
for impl in fused reference; do
  $p bench --preset lra-text --mixers ponet --lens 4096 --batch 8 --device cpu --impl $impl --steps 3 --warmup 1 --no-cache 2>&1 | grep -E "^ponet  " | sed "s/^/cpu train 4096 b8 $impl: /"
done
echo "bench done $(( $(date +%s) - t0 )) s"
if [[ "${SKIP_PROFILE:-0}" != 1 ]] && command -v ncu >/dev/null; then
  echo "== ncu: ponet, lra-text, 32 x 16384, 1 warm-up + 1 timed step, eager"
  timeout 110 ncu --clock-control none --metrics gpu__time_duration.sum --csv --page raw \
    $p bench --preset lra-text --mixers ponet --lens 16384 --batch 32 --device cuda --warmup 1 --steps 1 \
    --cuda-graphs off --no-cache > "$out/ncu-16384.csv" 2> "$out/ncu-16384.err"
  echo "ncu exit $?"
  python3 tests/gpu/ncu_summary.py "$out/ncu-16384.csv" 2 > "$out/ncu-16384.txt"; head -24 "$out/ncu-16384.txt"
fi
# everything in one archive (the device returns a few files only)
(cd "$out" && tar -czf results.tgz --remove-files *.json *.log *.txt ncu-16384.csv ncu-16384.err 2>/dev/null)
echo "total $(( $(date +%s) - t0 )) s"
