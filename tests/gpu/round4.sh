#!/usr/bin/env bash
# One GPU call after round3 built build-gpu/: the Table 2 tables again (printed in full), then LRA ListOps runs.
out=${1:-$OUT}
SKIP_BUILD=1 STEPS=${STEPS:-10} WARMUP=${WARMUP:-3} bash tests/bench/table2.sh "$out/bench" > /dev/null 2>&1
for f in table2-train table2-ponet-long table2-reference base4096-train-fused base4096-train-reference \
         base4096-train-attention base4096-infer-fused base4096-infer-reference base4096-infer-attention; do
  echo "=== $f"; grep -E "\||implementation|^ponet bench|^device" "$out/bench/$f.txt"; tail -2 "$out/bench/$f.err"
done
PONET_RUN_LIMIT=${PONET_RUN_LIMIT:-380} bash tests/gpu/reproduce-lra.sh "$out/lra" 5000
