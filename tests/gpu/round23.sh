#!/usr/bin/env bash
# Where the short-sequence step goes: ncu per-kernel lists (ordered, one eager step after two warm-up steps) of
# PoNet and FNet train steps at 512 and 2K tokens in the Table 2 setting, to count PoNet's extra kernels.
# Usage on the device machine: bash tests/gpu/round23.sh OUT
source tests/gpu/lib.sh
out=${1:-$OUT}
gpu_round_start "$out"
prof() { local name=$1; shift; timeout 100 ncu --clock-control none --cache-control none --metrics gpu__time_duration.sum --csv --page raw \
    $p bench --preset lra-text --batch 32 --device cuda --warmup 2 --steps 1 --cuda-graphs off --no-cache "$@" \
    > "$out/ncu-$name.csv" 2> "$out/ncu-$name.err"; echo "== ncu $name exit $?"; }
prof ponet-512 --mixers ponet --lens 512
prof fnet-512 --mixers fnet --lens 512
prof ponet-2048 --mixers ponet --lens 2048
prof fnet-2048 --mixers fnet --lens 2048
timeout 60 $p bench --preset lra-text --mixers ponet,fnet --lens 512,2048 --batch 32 --device cuda --warmup 10 --steps 30 --no-cache 2>&1 | grep -A3 "^steps/s"
echo "total $(( $(date +%s) - t0 )) s"
(cd "$out" && tar -czf results.tgz --remove-files *.log *.csv *.err 2>/dev/null)
