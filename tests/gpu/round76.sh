#!/usr/bin/env bash
# Seventeenth session: a scope now waits for the companion stream only where a layer queued work on it (round75's
# recorded fp32 first-run example waited for an unforked stream inside the capture). The first-run example, then
# why round75's recorded ListOps run was slower with both changes: ListOps at 512 in bf16 with recorded steps with
# neither, PDL only, the deferred weight gradients only and both (alternating, twice), and with ordinary steps
# (graphs off) with neither and both.
# Usage on the device machine: bash tests/gpu/round76.sh OUT
source tests/gpu/lib.sh
out=${1:-$OUT}
trainer_round_start "$out" round76
listops_smoke
selftest_cuda default
grep -E "deferred" "$out/selftest-default.log"
cfg() { case $1 in base) echo "0 off";; pdl) echo "1 off";; pass) echo "0 pass";; both) echo "1 pass";; esac; }
for i in 1 2; do
  for v in base pdl pass both; do
    read -r pdl wg <<< "$(cfg $v)"
    PONET_PDL=$pdl PONET_WGRAD_STREAM=$wg listops_run "g-$v-$i" 512 bf16 on 1500 | head -1
  done
done
for i in 1 2; do
  for v in base both; do
    read -r pdl wg <<< "$(cfg $v)"
    PONET_PDL=$pdl PONET_WGRAD_STREAM=$wg listops_run "e-$v-$i" 512 bf16 off 300 | head -1
  done
done
round_end
