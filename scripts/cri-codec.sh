#!/usr/bin/env bash
# Generates the CRI codec (static protobufjs code for src/cri/proto/cri-subset.proto) into
# DIST/src/cri/codec.js: encoders and decoders compiled ahead of time, so no .proto is parsed at
# start (src/cri/codec.d.ts declares what the client uses of it). npm run build and
# scripts/image-rootfs.sh run it after tsc.
#   scripts/cri-codec.sh DIST
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dist=${1:?usage: cri-codec.sh DIST}
mkdir -p "$dist/src/cri"
"$root/node_modules/.bin/pbjs" -t static-module -w es6 --no-verify --no-delimited --no-typeurl \
  --no-service --no-comments -o "$dist/src/cri/codec.js" "$root/src/cri/proto/cri-subset.proto"
