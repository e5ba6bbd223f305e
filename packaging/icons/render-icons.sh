#!/usr/bin/env bash
# Renders the hicolor PNG sizes of the application icon from ponet-studio.svg. The PNGs are committed, so a build
# needs no SVG renderer; run this after editing the SVG (needs rsvg-convert: apt-get install librsvg2-bin).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
command -v rsvg-convert >/dev/null || { echo "render-icons: rsvg-convert is missing (apt-get install librsvg2-bin)" >&2; exit 1; }
for size in 16 22 24 32 48 64 128 256; do
  rsvg-convert -w "$size" -h "$size" "$here/ponet-studio.svg" -o "$here/ponet-studio-$size.png"
done
echo "render-icons: wrote $(ls "$here"/ponet-studio-*.png | wc -l) PNGs to $here"
