#!/usr/bin/env bash
# The PoNet projections as one autograd op (stacked weights kept, their gradient straight from cuBLAS in fp32:
# no cast pass per layer). Build, the self-test three ways,
# the Table 2 row twice with FNet, one eager step at 512 under ncu.
# The steps of round43.sh, run on that code. Usage on the device machine: bash tests/gpu/round44.sh OUT
exec bash tests/gpu/round43.sh "$@"
