#!/usr/bin/env bash
# Builds krew from the Go module proxy, once per version, into a cache outside the repo: the
# plugin manager the krew manifest (manifests/krew-plugin.yaml) is installed with in the tests.
# Prints the path of the binary.   KREW_VERSION (default v0.4.3), NSREPORT_CACHE
set -euo pipefail
KREW_VERSION=${KREW_VERSION:-v0.4.3}
dir=${NSREPORT_CACHE:-/var/cache/nsreport}/krew-$KREW_VERSION
if [ ! -x "$dir/krew" ]; then
  mkdir -p "$dir"
  echo "build-krew: go install krew $KREW_VERSION (once; cached in $dir)" >&2
  GOBIN=$dir GOWORK=off GOFLAGS=-mod=mod CGO_ENABLED=0 go install -trimpath -ldflags "-s -w" \
    "sigs.k8s.io/krew/cmd/krew@$KREW_VERSION" >&2
fi
echo "$dir/krew"
