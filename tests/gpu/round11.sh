#!/usr/bin/env bash
# One GPU call: build, self-test, where the 16K step's peak memory goes (our LayerNorm/linear kernels on and off,
# graphs on and off), the CPU mixing and CPU training steps on all cores (fused vs reference), then the
# pre-training half of the long-document reproduction (PoNet and attention, the same steps), its runs kept under
# build-gpu/docs-runs for tests/gpu/reproduce-docs2.sh in the next call.
# Usage on the device machine: bash tests/gpu/round11.sh OUT DATA_DIR
source tests/gpu/lib.sh
out=${1:-$OUT}
data=${2:?data dir}
mkdir -p "$out"
t0=$(date +%s)
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
gpu_build "$out" || exit 1
echo "build $(( $(date +%s) - t0 )) s"
p=build-gpu/ponet
export PONET_RESOURCES_DIR=$PWD/resources
$p selftest > "$out/selftest.log" 2>&1; echo "selftest exit $?"; grep -E "^FAIL" "$out/selftest.log" | head; tail -1 "$out/selftest.log"
cell() { local name=$1; shift; $p bench --preset lra-text --batch 32 --device cuda "$@" --json "$out/$name.json" --no-cache > "$out/$name.txt" 2>&1
  python3 -c "import json,sys; j=json.load(open('$out/$name.json')); [print('$name', r['mixer'], r['length'], r['status'], round(r['steps_per_second'] or 0,1), 'steps/s', round(r['peak_bytes']/2**30,3), 'GiB', 'graph' if r.get('cuda_graph') else 'eager') for r in j['rows']]"; }
echo "== 16K peak memory"
cell mem-default --mixers ponet,fnet --lens 16384 --warmup 3 --steps 10 --cuda-graphs off
PONET_FUSED_LAYERS=0 cell mem-aten-layers --mixers ponet,fnet --lens 16384 --warmup 3 --steps 10 --cuda-graphs off
cell mem-graph --mixers ponet --lens 16384 --warmup 3 --steps 10 --cuda-graphs on
PONET_FUSED_LAYERS=0 cell mem-aten-layers-graph --mixers ponet --lens 16384 --warmup 3 --steps 10 --cuda-graphs on
cell mem-1step --mixers ponet --lens 16384 --warmup 0 --steps 1 --cuda-graphs off
echo "== CPU, all cores"
$p bench-mixer --device cpu --iters 10 --warmup 2 2>&1 | tail -4
$p bench-mixer --device cpu --iters 10 --warmup 2 --dtype bf16 2>&1 | tail -1
for impl in fused reference; do
  $p bench --preset lra-text --mixers ponet --lens 4096 --batch 8 --device cpu --impl $impl --steps 3 --warmup 1 --no-cache 2>&1 | grep -E "^ponet  " | sed "s/^/cpu train 4096 b8 $impl: /"
done
echo "bench done $(( $(date +%s) - t0 )) s"
# --- pre-training for the long-document tasks: the same steps, batch, length and schedule for both mixers
runs=$PWD/build-gpu/docs-runs; rm -rf "$runs"; mkdir -p "$runs"
psteps=${PRETRAIN_STEPS:-2000}
for mixer in ponet attention; do
  ( s=$(date +%s)
    docs_pretrain "$p" "$runs" "$data" "$mixer" "$psteps" 5e-4 "${PRETRAIN_SECONDS:-270}" "$runs/pretrain-$mixer.log"
    echo "pretrain-$mixer exit $? wall $(( $(date +%s) - s )) s" ) &
done
wait
for mixer in ponet attention; do echo "== pretrain-$mixer"; grep -E "^step|eval dev|finished" "$runs/pretrain-$mixer.log" | tail -4; done
(cd "$out" && tar -czf results.tgz --remove-files *.json *.log *.txt 2>/dev/null)
echo "total $(( $(date +%s) - t0 )) s"
