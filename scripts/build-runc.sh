#!/usr/bin/env bash
# Builds runc ≥ 1.2 (the idmap mount extension that user-namespaced pods need; Debian has 1.1.5)
# from the Go module proxy, once per version, into a cache outside the repo. Prints the binary.
# seccomp through cgo (libseccomp-dev, installed when missing); without the Makefile's default
# libpathrs tag (it needs a Rust C library).
#   RUNC_VERSION (default v1.5.3), NSREPORT_CACHE (/var/cache/nsreport)
set -euo pipefail
RUNC_VERSION=${RUNC_VERSION:-v1.5.3}
cache=${NSREPORT_CACHE:-/var/cache/nsreport}
out=$cache/runc-$RUNC_VERSION/runc
if [ -x "$out" ]; then
  echo "$out"
  exit 0
fi
missing=()
for pkg in libseccomp-dev pkg-config; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  printf 'build-runc: installing %s\n' "${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export GOWORK=off
# runc's go.mod is its own main module: build in a writable copy of the downloaded module.
src=$(cd "$work" && go mod download -json "github.com/opencontainers/runc@$RUNC_VERSION" |
  sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[ -d "$src" ] || { echo "build-runc: no module directory for runc $RUNC_VERSION" >&2; exit 1; }
cp -r "$src" "$work/runc"
chmod -R u+w "$work/runc"
mkdir -p "$(dirname "$out")"
printf 'build-runc: go build runc %s\n' "$RUNC_VERSION" >&2
(cd "$work/runc" && CGO_ENABLED=1 go build -p 2 -trimpath -buildmode=pie \
  -tags "seccomp urfave_cli_no_docs" -o "$out.tmp" .)
mv "$out.tmp" "$out"
echo "$out"
