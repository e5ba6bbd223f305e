#!/usr/bin/env bash
# One GPU call after a kernel change: build, the self-test on every device (fused vs reference and the golden
# vectors), the mixing alone against its bandwidth floor, the Table 2 setting for PoNet and FNet side by side, the
# base shape at 4K (fused vs reference), and the CUDA Debian package check reusing the same build.
# Usage on the device machine: bash tests/gpu/round7.sh OUT   (STEPS, default 10; SKIP_PACKAGE=1 skips the .deb)
source tests/gpu/lib.sh
out=${1:-$OUT}
mkdir -p "$out"
steps=${STEPS:-10}
t0=$(date +%s)
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
gpu_build "$out" || exit 1
echo "build $(( $(date +%s) - t0 )) s"
p=build-gpu/ponet
export PONET_RESOURCES_DIR=$PWD/resources
t=$(date +%s)
$p selftest > "$out/selftest.log" 2>&1; echo "selftest exit $? ($(( $(date +%s) - t )) s)"
grep -E "^FAIL" "$out/selftest.log" | head -20; tail -2 "$out/selftest.log"
grep -iE "fused vs reference.*(worst|rel)" "$out/selftest.log" | head -8
echo "== bench-mixer"
for shape in "--batch 32 --length 16384 --hidden 64 --heads 2 --dtype bf16" \
             "--batch 32 --length 4096 --hidden 64 --heads 2 --dtype bf16" \
             "--batch 8 --length 4096 --hidden 768 --heads 12 --dtype bf16" \
             "--batch 8 --length 4096 --hidden 768 --heads 12 --dtype fp32"; do
  $p bench-mixer --device cuda $shape --iters 20 2>&1 | tail -6
done
bench() { local name=$1; shift; echo "== $name: ponet bench $*"; $p bench "$@" --steps "$steps" --warmup 3 --json "$out/$name.json" 2>&1 | grep -vE '^\s*$' | tail -14; }
bench table2 --preset lra-text --mixers ponet,fnet --lens 512,1024,2048,4096,8192,16384 --batch 32 --device cuda
bench table2-long --preset lra-text --mixers ponet --lens 32768,65536 --batch 32 --device cuda
bench base4096-fused --preset base --mixers ponet --lens 4096 --batch 8 --device cuda --impl fused
bench base4096-ref --preset base --mixers ponet --lens 4096 --batch 8 --device cuda --impl reference
if [[ "${SKIP_PACKAGE:-0}" != 1 ]]; then
  PONET_PACKAGE_BUILD=build-gpu timeout 240 bash tests/gpu/package-cuda.sh "$out/pkg" > "$out/pkg.log" 2>&1
  echo "package-cuda exit $?"; grep -E "^==|cpack:|Depends|RUNPATH|ponet [0-9]|passed|failed|exit" "$out/pkg.log" | head -20
fi
echo "total $(( $(date +%s) - t0 )) s"
