#!/usr/bin/env bash
# Tried and reverted: the segment id read one step ahead in the vector fuse and rows kernels, so the segment-maxima
# lookup starts with the step's other loads (per-kernel times at 2K unchanged: rows 70 vs 67 µs, fuse 41.5 vs 41).
# The steps of round33.sh, run on that code (the call recorded timed FNet beside the default choice and the default
# again in place of the qsum variant). Usage on the device machine: bash tests/gpu/round35.sh OUT
exec bash tests/gpu/round33.sh "$@"
