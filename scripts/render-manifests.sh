#!/usr/bin/env bash
# Renders manifests/ from charts/nsreport with default values (release nsreport, namespace
# nsreport) for Kubernetes >= 1.30: the CRD and a complete install. `--check` renders to a temporary directory and
# fails when manifests/ differs (CI runs that).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
helm=$(bash "$root/scripts/build-helm.sh")
out=$root/manifests
check=0
if [ "${1:-}" = "--check" ]; then
  check=1
  out=$(mktemp -d)
  trap 'rm -rf "$out"' EXIT
fi
mkdir -p "$out"
cp "$root/charts/nsreport/crds/namespacereports.nsreport.dev.yaml" "$out/crd.yaml"
{
  echo "# Rendered from charts/nsreport by scripts/render-manifests.sh (default values). Do not edit."
  echo "# Install: kubectl apply -f manifests/crd.yaml && kubectl apply -f manifests/nsreport.yaml"
  echo "apiVersion: v1"
  echo "kind: Namespace"
  echo "metadata:"
  echo "  name: nsreport"
  # As on a cluster that serves ValidatingAdmissionPolicy (Kubernetes >= 1.30): the policy that
  # binds each agent to its node is part of a plain install.
  "$helm" template nsreport "$root/charts/nsreport" --namespace nsreport --skip-crds \
    --api-versions admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy
} >"$out/nsreport.yaml"
if [ "$check" = 1 ]; then
  if ! diff -u "$root/manifests" "$out" --exclude=README.md --exclude=krew-plugin.yaml; then
    echo "manifests/ is out of date: run scripts/render-manifests.sh" >&2
    exit 1
  fi
  echo "manifests/ is up to date"
fi
