#!/usr/bin/env bash
# Configures (once) and builds PoNet Studio in build/ with Ninja. A second run only rebuilds what changed.
# Usage: scripts/build.sh [extra cmake -D options...]   Environment: PONET_BUILD_DIR (default: build)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${PONET_BUILD_DIR:-$root/build}

for tool in cmake ninja g++; do
  command -v "$tool" >/dev/null || { echo "build: '$tool' is missing; run scripts/setup-deps.sh first" >&2; exit 1; }
done

launcher=()
if command -v ccache >/dev/null; then
  # PCH builds are cacheable only with these sloppiness settings (TOOLCHAIN.md §3); a relative base directory lets
  # clones in other folders share the cache.
  export CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime
  export CCACHE_BASEDIR="$root"
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi

if [[ ! -f "$build/CMakeCache.txt" || $# -gt 0 ]]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release "${launcher[@]}" "$@"
fi
jobs=$(nproc 2>/dev/null || echo 2)
cmake --build "$build" -j"$jobs"
