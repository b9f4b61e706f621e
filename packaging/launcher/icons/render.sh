#!/bin/bash
# Renders the PNG sizes electron-builder installs into the hicolor theme from consolegate.svg.
# The PNGs are committed (building needs no SVG renderer); rerun this after editing the SVG.
# Needs rsvg-convert (Debian package librsvg2-bin).
set -euo pipefail
cd "$(dirname "$0")"
for size in 16 24 32 48 64 128 256 512; do
  rsvg-convert --width "$size" --height "$size" consolegate.svg --output "${size}x${size}.png"
done
