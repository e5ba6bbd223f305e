#!/usr/bin/env bash
# After round4 on the same warm machine: the ListOps results, then a rebuild and the Table 2 tables.
out=${1:-$OUT}
for r in /tmp/ponet-lra-runs/*; do echo "== $(basename "$r")"; cat "$r/status.json" 2>/dev/null | head -c 600; echo
  grep -h '"test' "$r/metrics.jsonl" | tail -1 | head -c 400; echo; done
cmake --build build-gpu --target ponet -j16 > /dev/null 2>&1 || echo "rebuild failed"
SKIP_BUILD=1 STEPS=${STEPS:-10} WARMUP=${WARMUP:-3} bash tests/bench/table2.sh "$out/bench" > /dev/null 2>&1
for f in table2-train table2-ponet-long table2-reference base4096-train-fused base4096-train-reference \
         base4096-train-attention base4096-infer-fused base4096-infer-reference base4096-infer-attention; do
  echo "=== $f"; grep -E "\||implementation" "$out/bench/$f.txt"; tail -1 "$out/bench/$f.err"
done
