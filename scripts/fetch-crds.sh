#!/usr/bin/env bash
# Fetches the upstream CRDs nsreport's chart writes objects of (the Prometheus Operator's
# ServiceMonitor and PrometheusRule) from the Go module proxy, once per version, into a cache
# outside the repo. Prints the directory holding the CRD files.
#   PROMETHEUS_OPERATOR_VERSION (default v0.85.0), NSREPORT_CACHE
set -euo pipefail
PO_VERSION=${PROMETHEUS_OPERATOR_VERSION:-v0.85.0}
dir=${NSREPORT_CACHE:-/var/cache/nsreport}/crds-prometheus-operator-$PO_VERSION
if [ ! -f "$dir/monitoring.coreos.com_prometheusrules.yaml" ]; then
  echo "fetch-crds: prometheus-operator $PO_VERSION CRDs from the module proxy (once; cached in $dir)" >&2
  src=$(GOWORK=off GOFLAGS=-mod=mod go mod download -json \
    "github.com/prometheus-operator/prometheus-operator@$PO_VERSION" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  mkdir -p "$dir.tmp"
  for kind in servicemonitors prometheusrules; do
    cp "$src/example/prometheus-operator-crd/monitoring.coreos.com_$kind.yaml" "$dir.tmp/"
  done
  rm -rf "$dir" && mv "$dir.tmp" "$dir"
fi
echo "$dir"
