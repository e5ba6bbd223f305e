#!/usr/bin/env bash
# Seventeenth session, the final code (programmatic dependent launch; the companion-stream experiment reverted):
# the self-test, the recorded fp32 first-run example, ListOps at 512 in bf16 with recorded steps with PDL off and
# on (alternating, twice), the Table 2 row at 512-4K with PDL off and on (alternating, twice), the whole row and
# PoNet at 32K and 64K with the defaults.
# Usage on the device machine: bash tests/gpu/round78.sh OUT
source tests/gpu/lib.sh
out=${1:-$OUT}
trainer_round_start "$out" round78
selftest_cuda default
PONET_PDL=0 selftest_cuda pdl-off
listops_smoke
for i in 1 2; do
  PONET_PDL=0 listops_run "512-off-$i" 512 bf16 on 1500 | head -1
  listops_run "512-on-$i" 512 bf16 on 1500 | head -1
done
for i in 1 2; do
  PONET_PDL=0 bench "ab-off-$i" --preset lra-text --mixers ponet,fnet --lens 512,1024,2048,4096 --batch 32 \
    --device cuda --warmup 10 --steps 30 > /dev/null
  bench "ab-on-$i" --preset lra-text --mixers ponet,fnet --lens 512,1024,2048,4096 --batch 32 --device cuda \
    --warmup 10 --steps 30 > /dev/null
done
python3 - "$out" <<'PY'
import json, sys, glob, os
for f in sorted(glob.glob(sys.argv[1] + '/ab-*.json')):
    cells = {(r['mixer'], r['length']): r['steps_per_second'] for r in json.load(open(f))['rows']}
    print(f"{os.path.basename(f)[3:-5]:6s} " + "  ".join(f"{m} {l}: {cells[(m, l)]:7.1f}" for m, l in sorted(cells)) +
          "  | ratio " + " ".join(f"{cells[('ponet', l)] / cells[('fnet', l)]:.3f}" for l in (512, 1024, 2048, 4096)))
PY
table2_runs 1
long_rows
round_end
