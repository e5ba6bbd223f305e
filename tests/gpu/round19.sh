#!/usr/bin/env bash
# Rows per warp of the mixing kernels: build, the self-test, then the Table 2 row for PoNet with every
# PONET_MIX_ROWS_PER_WARP from 1 to 64 and with the built-in choice, FNet once beside them.
# Usage on the device machine: bash tests/gpu/round19.sh OUT
source tests/gpu/lib.sh
out=${1:-$OUT}
gpu_round_start "$out"
steps() {
  t=$(date +%s)
  timeout 150 $p selftest --verbose > "$out/selftest.log" 2>&1; echo "selftest exit $? ($(( $(date +%s) - t )) s)"
  grep -E "^FAIL" "$out/selftest.log" | head -20; tail -1 "$out/selftest.log"
  lens=512,1024,2048,4096,8192,16384
  b() { local name=$1; shift; timeout 100 $p bench --preset lra-text --lens $lens --batch 32 --device cuda --warmup 10 --steps 30 --json "$out/$name.json" "$@" 2>&1 | grep -E '^(ponet|fnet) +\|' | head -2 | sed "s/^/$name: /"; }
  b default --mixers ponet,fnet
  for r in 1 2 4 8 16 32 64; do PONET_MIX_ROWS_PER_WARP=$r b rpw$r --mixers ponet; done
  b default2 --mixers ponet,fnet
  for shape in "--batch 32 --length 16384" "--batch 32 --length 2048" "--batch 32 --length 512"; do
    for r in 0 4 8 16 32 64; do
      echo "mixer $shape rpw $r: $(PONET_MIX_ROWS_PER_WARP=$r timeout 30 $p bench-mixer --device cuda $shape --hidden 64 --heads 2 --dtype bf16 --iters 30 2>&1 | grep -E '^fused ')"
    done
  done
}
export p=build-gpu/ponet out PONET_RESOURCES_DIR=$PWD/resources
timeout ${BUDGET_S:-380} bash -c "$(declare -f steps); steps"
echo "total $(( $(date +%s) - t0 )) s"
(cd "$out" && tar -czf results.tgz --remove-files *.json *.log *.txt 2>/dev/null)
