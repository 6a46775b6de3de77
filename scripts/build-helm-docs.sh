#!/usr/bin/env bash
# Builds helm-docs from the Go module proxy, once per version, into a cache outside the repo.
# Prints the path of the binary.   HELM_DOCS_VERSION (default v1.14.2), NSREPORT_CACHE
set -euo pipefail
HELM_DOCS_VERSION=${HELM_DOCS_VERSION:-v1.14.2}
dir=${NSREPORT_CACHE:-/var/cache/nsreport}/helm-docs-$HELM_DOCS_VERSION
if [ ! -x "$dir/helm-docs" ]; then
  mkdir -p "$dir"
  echo "build-helm-docs: go install helm-docs $HELM_DOCS_VERSION (once; cached in $dir)" >&2
  GOBIN=$dir GOWORK=off GOFLAGS=-mod=mod CGO_ENABLED=0 go install -trimpath -ldflags "-s -w" \
    "github.com/norwoodj/helm-docs/cmd/helm-docs@$HELM_DOCS_VERSION" >&2
fi
echo "$dir/helm-docs"
