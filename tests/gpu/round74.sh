#!/usr/bin/env bash
# Seventeenth session: programmatic dependent launch for our kernels (PONET_PDL) and the linear layers' weight
# gradients on a companion stream (PONET_WGRAD_STREAM = off | layer | pass). The self-test (with the new deferred
# weight gradient check), the Table 2 row at 512-2K with each switch off and on, alternating, twice, the first-run
# example with recorded steps, and the whole row with the defaults.
# Usage on the device machine: bash tests/gpu/round74.sh OUT
source tests/gpu/lib.sh
out=${1:-$OUT}
gpu_round_start "$out"
selftest_cuda default
grep -E "deferred|fused linear|epilogue" "$out/selftest-default.log" | head -6
ab() {  # ab NAME PDL WGRAD
  PONET_PDL=$2 PONET_WGRAD_STREAM=$3 bench "$1" --preset lra-text --mixers ponet,fnet --lens 512,1024,2048 \
    --batch 32 --device cuda --warmup 10 --steps 30 > /dev/null
}
for i in 1 2; do
  ab "ab-base-$i" 0 off; ab "ab-pdl-$i" 1 off; ab "ab-layer-$i" 0 layer; ab "ab-pass-$i" 0 pass; ab "ab-both-$i" 1 pass
done
python3 - "$out" <<'PY'
import json, sys, glob, os
rows = {}
for f in sorted(glob.glob(sys.argv[1] + '/ab-*.json')):
    name = os.path.basename(f)[3:-5]
    for r in json.load(open(f))['rows']:
        rows.setdefault(name, {})[(r['mixer'], r['length'])] = r['steps_per_second']
for name, cells in rows.items():
    keys = sorted(cells)
    print(f"{name:10s} " + "  ".join(f"{m} {l}: {cells[(m, l)]:7.1f}" for m, l in keys) +
          "  | ratio " + " ".join(f"{cells[('ponet', l)] / cells[('fnet', l)]:.3f}" for l in (512, 1024, 2048)))
PY
listops_smoke
table2_runs 1
round_end
