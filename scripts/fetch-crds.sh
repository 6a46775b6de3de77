#!/usr/bin/env bash
# Fetches the upstream CRDs of the objects nsreport writes beside its own (the Prometheus
# Operator's ServiceMonitor and PrometheusRule, OpenReports' Report) from the Go module proxy,
# once per version, into a cache outside the repo. Prints the directory holding the CRD files.
#   PROMETHEUS_OPERATOR_VERSION (default v0.85.0), OPENREPORTS_VERSION (default v0.2.1),
#   NSREPORT_CACHE
set -euo pipefail
PO_VERSION=${PROMETHEUS_OPERATOR_VERSION:-v0.85.0}
OR_VERSION=${OPENREPORTS_VERSION:-v0.2.1}
dir=${NSREPORT_CACHE:-/var/cache/nsreport}/crds-po-$PO_VERSION-openreports-$OR_VERSION
module_dir() {
  GOWORK=off GOFLAGS=-mod=mod go mod download -json "$1" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p'
}
if [ ! -f "$dir/openreports.io_reports.yaml" ]; then
  echo "fetch-crds: prometheus-operator $PO_VERSION and openreports $OR_VERSION CRDs from the module proxy (once; cached in $dir)" >&2
  po=$(module_dir "github.com/prometheus-operator/prometheus-operator@$PO_VERSION")
  or=$(module_dir "github.com/openreports/reports-api@$OR_VERSION")
  mkdir -p "$dir.tmp"
  for kind in servicemonitors prometheusrules; do
    cp "$po/example/prometheus-operator-crd/monitoring.coreos.com_$kind.yaml" "$dir.tmp/"
  done
  cp "$or/config/crd/openreports.io_reports.yaml" "$dir.tmp/"
  chmod 644 "$dir.tmp"/*
  rm -rf "$dir" && mv "$dir.tmp" "$dir"
fi
echo "$dir"
