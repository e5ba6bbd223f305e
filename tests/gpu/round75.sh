#!/usr/bin/env bash
# Seventeenth session, after round74's recorded first-run example (fp32) failed to capture with PDL: launches take
# the PDL attribute in a capture only where every node they depend on is a kernel. The first-run example with and
# without PDL, ListOps at 512 in bf16 with recorded steps with both changes off and on (alternating), the self-test
# and the Table 2 row at 512-2K with both off and on.
# Usage on the device machine: bash tests/gpu/round75.sh OUT
source tests/gpu/lib.sh
out=${1:-$OUT}
trainer_round_start "$out" round75
listops_smoke
PONET_PDL=0 listops_smoke
selftest_cuda default
grep -E "deferred" "$out/selftest-default.log"
for i in 1 2; do
  PONET_PDL=0 PONET_WGRAD_STREAM=off listops_run "512-base-$i" 512 bf16 on 1500
  listops_run "512-both-$i" 512 bf16 on 1500
done
for i in 1 2; do
  for v in base both; do
    if [ $v = base ]; then export PONET_PDL=0 PONET_WGRAD_STREAM=off; else unset PONET_PDL PONET_WGRAD_STREAM; fi
    bench "ab-$v-$i" --preset lra-text --mixers ponet,fnet --lens 512,1024,2048,4096 --batch 32 --device cuda \
      --warmup 10 --steps 30 > /dev/null
  done
done
unset PONET_PDL PONET_WGRAD_STREAM
python3 - "$out" <<'PY'
import json, sys, glob, os
for f in sorted(glob.glob(sys.argv[1] + '/ab-*.json')):
    cells = {(r['mixer'], r['length']): r['steps_per_second'] for r in json.load(open(f))['rows']}
    print(f"{os.path.basename(f)[3:-5]:8s} " + "  ".join(f"{m} {l}: {cells[(m, l)]:7.1f}" for m, l in sorted(cells)) +
          "  | ratio " + " ".join(f"{cells[('ponet', l)] / cells[('fnet', l)]:.3f}" for l in (512, 1024, 2048, 4096)))
PY
round_end
