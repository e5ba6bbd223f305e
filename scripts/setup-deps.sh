#!/usr/bin/env bash
# Installs PoNet Studio's build and run dependencies from the Debian 12 archive. Idempotent: when every package
# is already installed it changes nothing and touches no network.
# Usage: scripts/setup-deps.sh [--tests]   (--tests adds what the test suite needs: Xvfb, ImageMagick, ...)
set -euo pipefail

packages=(
  cmake ninja-build pkgconf g++ ccache
  qt6-base-dev qt6-base-dev-tools libqt6test6 libgl-dev
  libqcustomplot-dev libqcustomplot2.1-qt6
  libtorch-dev libopenblas0-openmp libgloo-dev
  libsentencepiece-dev nlohmann-json3-dev
)
if [[ "${1:-}" == "--tests" ]]; then
  packages+=(xvfb xauth imagemagick desktop-file-utils appstream file clang libclang-rt-14-dev)
fi

if ! command -v dpkg-query >/dev/null || ! command -v apt-get >/dev/null; then
  echo "setup-deps: this script needs Debian 12 (apt-get and dpkg-query were not found)." >&2
  echo "setup-deps: install these packages by other means: ${packages[*]}" >&2
  exit 1
fi
if [[ -r /etc/os-release ]] && ! grep -qE '^VERSION_CODENAME=bookworm' /etc/os-release; then
  echo "setup-deps: note: this is not Debian 12 (bookworm); package names may differ." >&2
fi

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "installed" ]] || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "setup-deps: all ${#packages[@]} packages are installed"
  exit 0
fi

echo "setup-deps: installing ${#missing[@]} package(s): ${missing[*]}"
sudo_cmd=()
if ((EUID != 0)); then
  if command -v sudo >/dev/null; then
    sudo_cmd=(sudo)
  else
    echo "setup-deps: root rights are needed to install packages; run as root or install sudo." >&2
    exit 1
  fi
fi
"${sudo_cmd[@]}" apt-get update -q
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
