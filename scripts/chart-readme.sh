#!/usr/bin/env bash
# Writes charts/nsreport/README.md from Chart.yaml and the `# --` comments of values.yaml
# (helm-docs, template charts/nsreport/README.md.gotmpl). `--check` fails when it is out of date.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
helm_docs=$(bash "$root/scripts/build-helm-docs.sh")
chart=$root/charts/nsreport
if [ "${1:-}" = "--check" ]; then
  out=$(mktemp -d)
  trap 'rm -rf "$out"' EXIT
  cp -r "$chart" "$out/nsreport"
  (cd "$out" && "$helm_docs" --chart-search-root nsreport --log-level warning)
  if ! diff -u "$chart/README.md" "$out/nsreport/README.md"; then
    echo "charts/nsreport/README.md is out of date: run scripts/chart-readme.sh" >&2
    exit 1
  fi
  exit 0
fi
(cd "$root/charts" && "$helm_docs" --chart-search-root nsreport --log-level warning)
