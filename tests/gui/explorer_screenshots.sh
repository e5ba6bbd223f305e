#!/usr/bin/env bash
# The explorer's documentation screenshots: runs test_gui_explorer in screenshot mode under Xvfb (1280×800, the
# xcb platform) on a model and a document, and writes docs/images/explorer-{ga,smp,lmp,shares,compare,teach}.png.
# Usage: explorer_screenshots.sh BUILD_DIR MODEL_OR_RUN_DIR TEXT_FILE [OUT_DIR] [WORD]
#   WORD: the token the SMP/LMP/shares pictures centre on (default "the")
set -euo pipefail
build=$1
model=$2
text=$3
out=${4:-$(cd "$(dirname "$0")/../.." && pwd)/docs/images}
mkdir -p "$out"
export XDG_RUNTIME_DIR=$(mktemp -d)
chmod 700 "$XDG_RUNTIME_DIR"
export QT_QPA_PLATFORM=xcb
export XDG_CONFIG_HOME=$(mktemp -d)
PONET_EXPLORER_MODEL=$model PONET_EXPLORER_TEXT=$text PONET_EXPLORER_FIND=${5:-the} PONET_SCREENSHOT_DIR=$out \
  timeout 600 xvfb-run -a -s "-screen 0 1280x800x24 -nolisten tcp" "$build/tests/test_gui_explorer" screenshots
rm -rf "$XDG_RUNTIME_DIR" "$XDG_CONFIG_HOME"
ls -la "$out"/explorer-*.png
