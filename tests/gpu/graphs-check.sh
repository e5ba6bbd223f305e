#!/usr/bin/env bash
# After a change to the graph capture: build, the self-test, every mixer captured (train and inference), the
# reference path asked for graphs (timed as ordinary steps, with the reason), and the Table 2 row as bench runs it.
# Usage on the device machine: bash tests/gpu/graphs-check.sh OUT
source tests/gpu/lib.sh
out=${1:-$OUT}
mkdir -p "$out"
gpu_build "$out" || exit 1
p=build-gpu/ponet
export PONET_RESOURCES_DIR=$PWD/resources
$p selftest > "$out/selftest.log" 2>&1; echo "selftest exit $?"; tail -1 "$out/selftest.log"
for mode in train infer; do
  $p bench --preset lra-text --mixers ponet,fnet,attention --lens 512,2048 --batch 32 --device cuda --mode $mode \
    --warmup 5 --steps 20 --cuda-graphs on --no-cache 2>&1 | grep -E "graph|^(ponet|fnet|attention) |not ok|error"
done
$p bench --preset lra-text --mixers ponet --lens 1024 --batch 32 --device cuda --impl reference --cuda-graphs on \
  --warmup 3 --steps 5 --no-cache 2>&1 | grep -E "graph|^ponet |not ok|error"
$p bench --preset lra-text --mixers ponet,fnet --lens 512,1024,2048,4096,8192,16384 --batch 32 --device cuda \
  --warmup 10 --steps 30 --no-cache 2>&1 | grep -E "^(ponet|fnet) "
