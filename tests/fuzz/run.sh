#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan) in their own build folder and runs them on the seed corpora
# in tests/fuzz/corpus/<target>/. New inputs go to <build>/corpus/<target>/, crashes to <build>/artifacts/.
#
#   tests/fuzz/run.sh --smoke              every target for 2,000 runs or 10 s (the test command does this)
#   tests/fuzz/run.sh --runs 1000000 fuzz_safetensors fuzz_listops     the long runs of docs/DEVELOPING.md
#
# Options: --runs N, --time SECONDS (per target; 0: no limit), --jobs N (parallel targets, default 1).
# Environment: PONET_FUZZ_BUILD_DIR (default: build-fuzz), CXX (default: clang++).
# Prints one line per target: name, executions, seconds, result. Exits 1 when any target found a problem.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${PONET_FUZZ_BUILD_DIR:-$root/build-fuzz}
runs=0; seconds=0; jobs=1; targets=()
while (($#)); do
  case "$1" in
    --smoke) runs=2000; seconds=10 ;;
    --runs) runs=$2; shift ;;
    --time) seconds=$2; shift ;;
    --jobs) jobs=$2; shift ;;
    -h|--help) sed -n 2,11p "$0"; exit 0 ;;
    -*) echo "fuzz: unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1") ;;
  esac
  shift
done
if ((runs == 0 && seconds == 0)); then echo "fuzz: give --smoke, --runs N or --time S" >&2; exit 2; fi

cxx=${CXX:-clang++}
if ! command -v "$cxx" >/dev/null || [[ "$("$cxx" --version)" != *clang* ]]; then
  echo "fuzz: $cxx is not clang; install clang and libclang-rt-14-dev (scripts/setup-deps.sh --tests)" >&2
  exit 1
fi
launcher=()
if command -v ccache >/dev/null; then
  export CCACHE_BASEDIR="$root"
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
if [[ ! -f "$build/CMakeCache.txt" ]]; then
  # Debug keeps assert() (nlohmann's JSON_ASSERT among them); the fuzz flags add -O1.
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_COMPILER="$cxx" "${launcher[@]}" \
        -DPONET_BUILD_FUZZERS=ON -DPONET_BUILD_GUI=OFF -DPONET_BUILD_TESTS=OFF >/dev/null
fi
cmake --build "$build" --target ponet_fuzzers -j"${PONET_BUILD_JOBS:-2}" >/dev/null || {
  cmake --build "$build" --target ponet_fuzzers -j1 2>&1 | tail -40; exit 1; }

if ((${#targets[@]} == 0)); then
  for f in "$build"/fuzz/fuzz_*; do targets+=("$(basename "$f")"); done
fi
mkdir -p "$build/corpus" "$build/artifacts" "$build/logs"
[[ -f "$build/libponet_spm.so" ]] && export PONET_SPM_MODULE="$build/libponet_spm.so"
# Leaks are reported by libFuzzer itself; ASan's allocator limit turns a huge allocation into a report.
export ASAN_OPTIONS=${ASAN_OPTIONS:-allocator_may_return_null=0:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

run_one() {
  local t=$1 seeds="$root/tests/fuzz/corpus/${1#fuzz_}" work="$build/corpus/$1" log="$build/logs/$1.log"
  mkdir -p "$work"
  local args=(-max_len=65536 -rss_limit_mb=2048 -malloc_limit_mb=1024 -timeout=20 -print_final_stats=1
              -artifact_prefix="$build/artifacts/$t-")
  ((runs > 0)) && args+=(-runs="$runs")
  ((seconds > 0)) && args+=(-max_total_time="$seconds")
  local dirs=("$work"); [[ -d "$seeds" ]] && dirs+=("$seeds")
  local rc=0 start=$SECONDS
  "$build/fuzz/$t" "${args[@]}" "${dirs[@]}" >"$log" 2>&1 || rc=$?
  local execs; execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  if ((rc == 0)); then
    printf '%-22s %10s execs %6ss  ok\n' "$t" "${execs:-?}" "$((SECONDS - start))"
  else
    printf '%-22s %10s execs %6ss  FAILED (exit %s; see %s)\n' "$t" "${execs:-?}" "$((SECONDS - start))" "$rc" "$log"
    grep -m3 -E 'ERROR|runtime error|fuzz invariant|Test unit written' "$log" | sed 's/^/    /'
    return 1
  fi
}

failed=0
if ((jobs <= 1)); then
  for t in "${targets[@]}"; do run_one "$t" || failed=1; done
else
  export -f run_one; export root build runs seconds
  printf '%s\n' "${targets[@]}" | xargs -P "$jobs" -I{} bash -c 'run_one {}' || failed=1
fi
exit $failed
