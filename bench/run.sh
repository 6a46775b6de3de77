#!/usr/bin/env bash
# npm run bench: starts the containerd lab (root), builds crictl for the manual method (cached
# outside the repo, keyed by version), runs bench/scan.ts and tears the lab down.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
[ "$(id -u)" = 0 ] || { echo "bench: needs root (containerd lab)" >&2; exit 2; }

CRICTL_VERSION=v1.37.0
cache=${NSREPORT_CACHE:-/var/cache/nsreport}/crictl-$CRICTL_VERSION
if [ ! -x "$cache/crictl" ]; then
  echo "bench: building crictl $CRICTL_VERSION (once; cached in $cache)" >&2
  mkdir -p "$cache"
  GOBIN=$cache GOFLAGS=-mod=mod go install "sigs.k8s.io/cri-tools/cmd/crictl@$CRICTL_VERSION"
fi

bash test/lab/lab.sh install
lab=$(mktemp -d /tmp/nsreport-bench.XXXXXX)
teardown() {
  set +e
  [ -f "$lab/env" ] && (set -a; . "$lab/env"; set +a; node dist/test/lab/cli.js delete)
  bash test/lab/lab.sh down "$lab"
}
trap teardown EXIT
bash test/lab/lab.sh up "$lab"
set -a; . "$lab/env"; set +a
node dist/bench/scan.js "$cache/crictl"
