#!/usr/bin/env bash
# Builds the test cluster from the Go module proxy, once per version, into a cache outside the
# repo: etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubelet and a kubectl of the
# same version.
# Prints the bin directory. Cold build on 2 cores: ~10-20 min; cached runs: instant.
#
#   K8S_VERSION (default v1.35.4), ETCD_VERSION (default v3.6.16), NSREPORT_CACHE (/var/cache/nsreport)
set -euo pipefail
K8S_VERSION=${K8S_VERSION:-v1.35.4}
ETCD_VERSION=${ETCD_VERSION:-v3.6.16}
cache=${NSREPORT_CACHE:-/var/cache/nsreport}
bin=$cache/k8s-$K8S_VERSION-etcd-$ETCD_VERSION/bin
export GOWORK=off CGO_ENABLED=0 GOFLAGS=-mod=mod
log() { printf 'build-k8s: %s\n' "$*" >&2; }

have() { [ -x "$bin/$1" ]; }
cmds="kube-apiserver kube-controller-manager kube-scheduler kubelet kubectl"
all_built() { for c in $cmds; do have "$c" || return 1; done; }
if have etcd && all_built; then
  echo "$bin"
  exit 0
fi
mkdir -p "$bin"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if ! have etcd; then
  log "building etcd $ETCD_VERSION"
  mkdir -p "$work/etcd" && cd "$work/etcd"
  go mod init nsreport.test/etcd >/dev/null 2>&1
  go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" >&2
  go build -p 2 -trimpath -ldflags "-s -w" -o "$bin/etcd" go.etcd.io/etcd/server/v3
fi

if ! all_built; then
  log "building $cmds $K8S_VERSION"
  mkdir -p "$work/k8s" && cd "$work/k8s"
  go mod init nsreport.test/k8s >/dev/null 2>&1
  # k8s.io/kubernetes requires its staging modules as v0.0.0 and replaces them locally: pin each
  # to the published v0.<minor>.<patch> before resolving.
  gomod_json=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION")
  gomod=$(printf '%s' "$gomod_json" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",*$/\1/p')
  staging="v0${K8S_VERSION#v1}"
  while read -r m; do
    go mod edit -replace "$m=$m@$staging"
  done < <(awk '/^[[:space:]]*k8s.io\/[^ ]+ v0\.0\.0$/ {print $1}' "$gomod" | sort -u)
  go mod edit -require "k8s.io/kubernetes@$K8S_VERSION"
  cat >tools.go <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubelet"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
GO
  go mod tidy >&2 2>&1 || go get "k8s.io/kubernetes@$K8S_VERSION" >&2
  minor=$(echo "$K8S_VERSION" | cut -d. -f2)
  ld="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld="$ld -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  done
  for cmd in $cmds; do
    have "$cmd" && continue
    log "go build $cmd"
    go build -p 2 -trimpath -tags tools -ldflags "$ld" -o "$bin/$cmd" "k8s.io/kubernetes/cmd/$cmd"
  done
fi
echo "$bin"
