#!/usr/bin/env bash
# The long version of the crash-safety test: KILLS (default 100) SIGKILLs of a real `ponet lra` training process
# at random moments, with every checkpoint write slowed down so that many kills land inside one; after each kill
# every file of the run directory must load, and at the end `ponet resume` must finish the run from the newest
# complete checkpoint. Then the deterministic mid-write kill and the disk-full case once more.
# Usage: tests/crash/kill-loop.sh [KILLS]   (needs a build: scripts/build.sh, or PONET_BUILD_DIR)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${PONET_BUILD_DIR:-$root/build}
kills=${1:-100}
test_bin="$build/tests/test_crash_safety"
[[ -x "$test_bin" && -x "$build/ponet" ]] || {
  echo "kill-loop: build first: cmake --build $build --target ponet test_crash_safety" >&2; exit 1; }
export PONET_RESOURCES_DIR=${PONET_RESOURCES_DIR:-$root/resources} OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
export PONET_CRASH_KILLS=$kills
start=$SECONDS
"$test_bin" -maxwarnings 0
echo "kill-loop: $kills random kills + the mid-write kill + disk full: passed in $((SECONDS - start)) s"
