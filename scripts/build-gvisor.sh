#!/usr/bin/env bash
# Builds gVisor's runsc and its containerd shim (containerd-shim-runsc-v1) from the Go module
# proxy (gVisor's go branch, published as pseudo-versions), once per version, into a cache
# outside the repo. Prints the bin directory. runsc runs here on its default platform, systrap
# (no KVM needed).
# One change to the shim for these machines: it sets its own oom_score_adj to -999, which needs
# CAP_SYS_RESOURCE, outside their bounding set; it keeps the score it has (as containerd's runc
# shim does with restrict_oom_score_adj). Silently: containerd reads the shim's start output, all
# of it, as its address.
#   GVISOR_VERSION (default v0.0.0-20260905035102-160fafc42237), NSREPORT_CACHE (/var/cache/nsreport)
set -euo pipefail
GVISOR_VERSION=${GVISOR_VERSION:-v0.0.0-20260905035102-160fafc42237}
cache=${NSREPORT_CACHE:-/var/cache/nsreport}
bin=$cache/gvisor-$GVISOR_VERSION/bin
if [ -x "$bin/runsc" ] && [ -x "$bin/containerd-shim-runsc-v1" ]; then
  echo "$bin"
  exit 0
fi
mkdir -p "$bin"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export GOWORK=off GOFLAGS=-mod=mod CGO_ENABLED=0
src=$(cd "$work" && go mod download -json "gvisor.dev/gvisor@$GVISOR_VERSION" |
  sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
cp -r "$src" "$work/gvisor"
chmod -R u+w "$work/gvisor"
cd "$work/gvisor"
manager=pkg/shim/v1/manager.go
grep -q 'failed to set OOM Score on shim' "$manager"
sed -i 's|return shim.BootstrapParams{}, fmt.Errorf("failed to set OOM Score on shim: %w", err)|_ = err // oom_score_adj kept: no CAP_SYS_RESOURCE here|' "$manager"
grep -q 'oom_score_adj kept' "$manager"
for cmd in runsc shim; do
  out=$([ "$cmd" = shim ] && echo containerd-shim-runsc-v1 || echo runsc)
  printf 'build-gvisor: go build %s\n' "$out" >&2
  go build -p 2 -trimpath -o "$bin/$out.tmp" "./$cmd"
  mv "$bin/$out.tmp" "$bin/$out"
done
echo "$bin"
