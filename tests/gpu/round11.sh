#!/usr/bin/env bash
# One GPU call: build, self-test, where the 16K step's peak memory goes (our LayerNorm/linear kernels on and off,
# graphs on and off), the CPU mixing and CPU training steps on all cores (fused vs reference), then the
# pre-training half of the long-document reproduction (PoNet and attention, the same steps), its runs kept under
# build-gpu/docs-runs for tests/gpu/reproduce-docs2.sh in the next call.
# Usage on the device machine: bash tests/gpu/round11.sh OUT DATA_DIR
out=${1:-$OUT}
data=${2:?data dir}
mkdir -p "$out"
prefix=$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')
t0=$(date +%s)
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DPONET_BUILD_GUI=OFF -DPONET_BUILD_TESTS=OFF \
      -DCMAKE_PREFIX_PATH="$prefix" -DPONET_WITH_CUDA=ON -DPONET_CUDA_ARCHITECTURES=90 -DCMAKE_CUDA_ARCHITECTURES=90 \
      > "$out/configure.log" 2>&1 || { tail -30 "$out/configure.log"; exit 1; }
cmake --build build-gpu --target ponet -j16 > "$out/build.log" 2>&1 || { grep -E "error" -A3 "$out/build.log" | head -40; exit 1; }
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
    timeout -s INT "${PRETRAIN_SECONDS:-270}" $p pretrain --preset small --set "data.train=$data/pretrain.jsonl" \
      --set data.label_field= --set "data.tokenizer=$data/vocab.txt" --set model.max_length=1024 \
      --set model.mixer=$mixer --set train.device=cuda --set train.precision=bf16 --set train.batch_size=32 \
      --set train.max_steps=$psteps --set train.warmup_steps=$(( psteps / 10 )) --set train.lr=5e-4 \
      --set train.eval_every=500 --set train.eval_batches=20 --set train.checkpoint_every=500 \
      --set train.log_every=100 --set train.seed=1 --run-dir "$runs/pretrain-$mixer" > "$runs/pretrain-$mixer.log" 2>&1
    echo "pretrain-$mixer exit $? wall $(( $(date +%s) - s )) s" ) &
done
wait
for mixer in ponet attention; do echo "== pretrain-$mixer"; grep -E "^step|eval dev|finished" "$runs/pretrain-$mixer.log" | tail -4; done
(cd "$out" && tar -czf results.tgz --remove-files *.json *.log *.txt 2>/dev/null)
echo "total $(( $(date +%s) - t0 )) s"
