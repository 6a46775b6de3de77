#!/usr/bin/env bash
# Builds containerd 2.x (which implements CRI GetContainerEvents) and its runc shim from the Go
# module proxy, once per version, into a cache outside the repo. Prints the bin directory.
#   CONTAINERD_VERSION (default v2.2.9), NSREPORT_CACHE (/var/cache/nsreport)
set -euo pipefail
CONTAINERD_VERSION=${CONTAINERD_VERSION:-v2.2.9}
cache=${NSREPORT_CACHE:-/var/cache/nsreport}
bin=$cache/containerd-$CONTAINERD_VERSION/bin
if [ -x "$bin/containerd" ] && [ -x "$bin/containerd-shim-runc-v2" ]; then
  echo "$bin"
  exit 0
fi
mkdir -p "$bin"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
export GOWORK=off GOFLAGS=-mod=mod CGO_ENABLED=0
go mod init nsreport.test/containerd >/dev/null 2>&1
go get "github.com/containerd/containerd/v2@$CONTAINERD_VERSION" >&2
# No btrfs headers here, and no cgo: leave out what needs them.
tags="no_btrfs no_devmapper no_zfs no_aufs"
ld="-s -w -X github.com/containerd/containerd/v2/version.Version=$CONTAINERD_VERSION"
for cmd in containerd containerd-shim-runc-v2; do
  printf 'build-containerd: go build %s\n' "$cmd" >&2
  go build -p 2 -trimpath -tags "$tags" -ldflags "$ld" -o "$bin/$cmd" "github.com/containerd/containerd/v2/cmd/$cmd"
done
echo "$bin"
