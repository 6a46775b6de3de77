#!/usr/bin/env bash
# Builds CRI-O and its pinns helper from the Go module proxy, once per version, into a cache
# outside the repo (CRI-O is not a Debian package in bookworm; conmon is, test/cluster/node.sh
# installs it). Prints the bin directory. Cold: ~8 min on 2 cores.
#   CRIO_VERSION (default v1.34.0), NSREPORT_CACHE (/var/cache/nsreport)
#
# The proxy serves exact versions of github.com/cri-o/cri-o but refuses its version list, so
# `go install …@version` fails on its deprecation check: the module is downloaded and built in a
# writable copy of its directory instead.
set -euo pipefail
CRIO_VERSION=${CRIO_VERSION:-v1.34.0}
cache=${NSREPORT_CACHE:-/var/cache/nsreport}
bin=$cache/crio-$CRIO_VERSION/bin
if [ -x "$bin/crio" ] && [ -x "$bin/pinns" ]; then
  echo "$bin"
  exit 0
fi
log() { printf 'build-crio: %s\n' "$*" >&2; }
for tool in go gcc make; do
  command -v "$tool" >/dev/null || { log "needs $tool"; exit 1; }
done
mkdir -p "$bin"
work=$(mktemp -d)
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
export GOWORK=off GOFLAGS=-mod=mod
log "downloading github.com/cri-o/cri-o@$CRIO_VERSION"
dir=$(cd "$work" && go mod download -json "github.com/cri-o/cri-o@$CRIO_VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
[ -d "$dir" ] || { log "no module directory for $CRIO_VERSION"; exit 1; }
cp -r "$dir" "$work/cri-o"
chmod -R u+w "$work/cri-o"
cd "$work/cri-o"
log "go build ./cmd/crio"
CGO_ENABLED=0 go build -p 2 -trimpath \
  -tags "containers_image_openpgp exclude_graphdriver_btrfs exclude_graphdriver_devicemapper" \
  -ldflags "-s -w -X github.com/cri-o/cri-o/internal/version.version=${CRIO_VERSION#v}" \
  -o "$bin/crio" ./cmd/crio
log "make -C pinns"
make -s -C pinns >&2
cp bin/pinns "$bin/pinns"
echo "$bin"
