#!/usr/bin/env bash
# Assembles the runtime file set of the image into DIR/app: package.json, production
# dependencies only (no dev tools, no install scripts) and the compiled src/ with its CRI codec.
# The Dockerfile's build stage runs this same script, so what the tests run from DIR is what
# the image holds (no Docker engine is needed to check it).
#   scripts/image-rootfs.sh DIR
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:?usage: image-rootfs.sh DIR}
app=$out/app
rm -rf "$app"
mkdir -p "$app"
cp "$root/package.json" "$root/package-lock.json" "$app/"
(cd "$app" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error)
rm -f "$app/package-lock.json"
"$root/node_modules/.bin/tsc" -p "$root/tsconfig.build.json" --outDir "$app/dist"
bash "$root/scripts/cri-codec.sh" "$app/dist"
