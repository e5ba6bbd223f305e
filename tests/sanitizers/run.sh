#!/usr/bin/env bash
# Builds the core, the `ponet` CLI and the core's Qt Test suite with AddressSanitizer + UndefinedBehaviorSanitizer
# (gcc) in build-asan/ and runs the tests. Reports from LibTorch itself are suppressed in asan.supp, lsan.supp and
# ubsan.supp next to this script, each with its reason; our code gets none.
#
#   tests/sanitizers/run.sh            the whole core suite (minus the network fetch of test_data_sources)
#   tests/sanitizers/run.sh --subset   the representative subset the test command runs (see docs/DEVELOPING.md)
#   tests/sanitizers/run.sh -R regex   any ctest selection
# Environment: PONET_ASAN_BUILD_DIR (default: build-asan), PONET_BUILD_JOBS (default: nproc).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
here="$root/tests/sanitizers"
build=${PONET_ASAN_BUILD_DIR:-$root/build-asan}
jobs=${PONET_BUILD_JOBS:-$(nproc 2>/dev/null || echo 2)}

# The subset: every parser and file format, the model against the golden vectors, checkpoints, and the CLI
# end to end (it runs `ponet` itself, also built with the sanitizers). test_trainer (minutes of training) and
# test_crash_safety (kills processes on purpose) are left to the full run.
subset='^(test_hostile_inputs|test_safetensors|test_config_io|test_tokenizers|test_examples|test_train_parts|test_model|test_cli)$'
ctest_args=(-E '^(test_data_sources|fuzz_smoke|sanitizers_subset)$')
case "${1:-}" in
  --subset) ctest_args=(-R "$subset") ;;
  -R) ctest_args=(-R "$2") ;;
  "") ;;
  *) echo "sanitizers: unknown argument $1" >&2; exit 2 ;;
esac

flags="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
launcher=()
if command -v ccache >/dev/null; then
  export CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime CCACHE_BASEDIR="$root"
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
if [[ ! -f "$build/CMakeCache.txt" ]]; then
  # -O1 -g: usable stacks at a bearable speed. The GUI is not part of this build (no Qt Widgets code in the core).
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "${launcher[@]}" \
        -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" -DCMAKE_CXX_FLAGS="$flags" \
        -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" \
        -DCMAKE_SHARED_LINKER_FLAGS="-fsanitize=address,undefined" \
        -DCMAKE_MODULE_LINKER_FLAGS="-fsanitize=address,undefined" \
        -DPONET_BUILD_GUI=OFF -DPONET_BUILD_TESTS=ON >/dev/null
fi
# Only what the selected tests need: the CLI (test_cli and test_crash_safety run it) and the test executables.
targets=(ponet)
for t in "$root"/tests/test_*.cpp; do targets+=("$(basename "$t" .cpp)"); done
cmake --build "$build" --target "${targets[@]}" -j"$jobs"

# allocator_may_return_null=1: test_bench's out-of-memory case asks the CPU for 256 GiB on purpose and checks that
# the failed allocation becomes an "OOM" cell; by default ASan aborts the process on such a request instead of
# failing the allocation. Memory errors are still reported as before.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:halt_on_error=1:detect_stack_use_after_return=0:allocator_may_return_null=1:suppressions=$here/asan.supp${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export LSAN_OPTIONS="suppressions=$here/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:suppressions=$here/ubsan.supp${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-$(mktemp -d)}
chmod 700 "$XDG_RUNTIME_DIR"
# The tests' own time limits assume an uninstrumented build; the sanitizers make LibTorch-heavy tests ~3x slower.
ctest --test-dir "$build" --output-on-failure --timeout 1800 -j"$jobs" "${ctest_args[@]}"
