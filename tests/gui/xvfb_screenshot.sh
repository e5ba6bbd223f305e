#!/usr/bin/env bash
# Screenshot test under a real X server (Xvfb + xcb platform plugin): the app starts, renders each page and saves
# PNGs; the test fails when a picture is missing, tiny, or a single flat colour. The PNGs stay in the build tree
# for a person to look at (docs/images holds the ones we looked at).
# Usage: xvfb_screenshot.sh PONET_STUDIO OUT_DIR
set -euo pipefail
app=$1
out=$2
mkdir -p "$out"
export XDG_RUNTIME_DIR=$(mktemp -d)
chmod 700 "$XDG_RUNTIME_DIR"
export QT_QPA_PLATFORM=xcb
# A private settings directory so the test never reads or writes the user's settings.
export XDG_CONFIG_HOME=$(mktemp -d)
check() {
  local png=$1
  [[ -s "$png" ]] || { echo "no screenshot at $png"; exit 1; }
  local geometry colours
  geometry=$(identify -format '%w %h' "$png")
  colours=$(identify -format '%k' "$png")
  read -r w h <<<"$geometry"
  echo "$png: ${w}x${h}, $colours colours"
  (( w >= 800 && h >= 500 )) || { echo "screenshot too small"; exit 1; }
  (( colours >= 16 )) || { echo "screenshot is nearly flat: $colours colours"; exit 1; }
}
timeout 120 xvfb-run -a -s "-screen 0 1280x800x24 -nolisten tcp" "$app" --page model --screenshot "$out/xvfb-model.png"
check "$out/xvfb-model.png"
timeout 300 xvfb-run -a -s "-screen 0 1280x800x24 -nolisten tcp" "$app" --page selftest --run-selftest --screenshot "$out/xvfb-selftest.png"
check "$out/xvfb-selftest.png"
# The Data page and the run library on an empty data folder (no user datasets or runs read).
export PONET_DATA_DIR=$(mktemp -d)
timeout 120 xvfb-run -a -s "-screen 0 1280x800x24 -nolisten tcp" "$app" --page data --screenshot "$out/xvfb-data.png"
check "$out/xvfb-data.png"
timeout 120 xvfb-run -a -s "-screen 0 1280x800x24 -nolisten tcp" "$app" --page runs --screenshot "$out/xvfb-runs.png"
check "$out/xvfb-runs.png"
rm -rf "$PONET_DATA_DIR"
# The Train page mid-run: the first-run example (generated ListOps, tiny model) trains on the CPU, and the picture
# is taken at step 60 of 300, after the first evaluation, with real curves on the plots (docs/images/studio-train.png
# is the same command at step 150). Its run goes to a private data folder.
export PONET_DATA_DIR=$(mktemp -d)
timeout 300 xvfb-run -a -s "-screen 0 1280x800x24 -nolisten tcp" "$app" --train --screenshot-at-step 60 --screenshot "$out/xvfb-train.png"
check "$out/xvfb-train.png"
ls "$PONET_DATA_DIR"/runs/*/checkpoints/step-* >/dev/null || { echo "the stopped run left no checkpoint"; exit 1; }
rm -rf "$XDG_RUNTIME_DIR" "$XDG_CONFIG_HOME" "$PONET_DATA_DIR"
