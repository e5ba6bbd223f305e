#!/usr/bin/env bash
# One command: install the dependencies, build everything, run the whole test suite (CTest). CI runs exactly this.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup-deps.sh" --tests
"$root/scripts/build.sh"
build=${PONET_BUILD_DIR:-$root/build}
cd "$build"
# Qt wants a private runtime directory; the GUI tests run offscreen, the screenshot test under Xvfb.
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-$(mktemp -d)}
chmod 700 "$XDG_RUNTIME_DIR"
ctest --output-on-failure --timeout 900 -j2 "$@"
