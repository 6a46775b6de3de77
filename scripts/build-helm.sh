#!/usr/bin/env bash
# Builds helm from the Go module proxy, once per version, into a cache outside the repo.
# Prints the path of the binary.   HELM_VERSION (default v3.22.0), NSREPORT_CACHE
set -euo pipefail
HELM_VERSION=${HELM_VERSION:-v3.22.0}
dir=${NSREPORT_CACHE:-/var/cache/nsreport}/helm-$HELM_VERSION
if [ ! -x "$dir/helm" ]; then
  mkdir -p "$dir"
  echo "build-helm: go install helm $HELM_VERSION (once; cached in $dir)" >&2
  GOBIN=$dir GOWORK=off GOFLAGS=-mod=mod CGO_ENABLED=0 go install -trimpath \
    -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION" \
    "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" >&2
fi
echo "$dir/helm"
