#!/usr/bin/env bash
# One command for a fresh Debian 12 machine: install the dependencies, build, and start PoNet Studio.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup-deps.sh"
"$root/scripts/build.sh"
build=${PONET_BUILD_DIR:-$root/build}
if [[ -z "${DISPLAY:-}" && -z "${WAYLAND_DISPLAY:-}" && -z "${QT_QPA_PLATFORM:-}" ]]; then
  echo "studio: no display found (DISPLAY/WAYLAND_DISPLAY unset). Start it from a desktop session," >&2
  echo "studio: or try it headless: xvfb-run -a $build/ponet-studio --screenshot shot.png" >&2
  exit 1
fi
exec "$build/ponet-studio" "$@"
