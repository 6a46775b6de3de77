#!/usr/bin/env bash
# End-to-end suite, in two phases, each on real components built once (cached) from the Go module
# proxy and the Debian archive:
#   1. the lab: a control plane (etcd, kube-apiserver, kube-controller-manager) and a containerd
#      whose pods the tests make through CRI (test/e2e/*.test.ts);
#   2. a kubelet-made node: the image built from the Dockerfile by buildah, a full control plane
#      with scheduler and controllers, a kubelet on its own runtime, nsreport installed with
#      helm (test/kubelet/*.test.ts) — once on containerd, once on CRI-O — and the isolation
#      features on containerd 2.2 + runc 1.5 (test/isolation/*.test.ts)
#      (NSREPORT_E2E_RUNTIMES="containerd crio containerd2" by default).
# Everything is torn down at the end, and the run fails if anything is left behind.
# Needs root. Usage: npm run test:e2e
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
if [ "$(id -u)" != 0 ]; then
  echo "e2e: needs root (containerd, mounts, network namespaces)" >&2
  exit 2
fi

bash test/lab/lab.sh install
missing=()
command -v prometheus >/dev/null && command -v promtool >/dev/null || missing+=(prometheus)
command -v openssl >/dev/null || missing+=(openssl)
command -v capsh >/dev/null || missing+=(libcap2-bin)
# The completion scripts are run in each shell they are for (test/e2e/plugin.test.ts).
command -v zsh >/dev/null || missing+=(zsh)
command -v fish >/dev/null || missing+=(fish)
# The kubelet suite builds its FUSE server that never answers (test/hang/fuse-hang.c).
command -v gcc >/dev/null && [ -e /usr/include/stdio.h ] || missing+=(gcc libc6-dev)
if [ ${#missing[@]} -gt 0 ]; then
  echo "e2e: installing ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
bash scripts/build-k8s.sh >/dev/null
bash scripts/build-crio.sh >/dev/null
bash scripts/build-runc.sh >/dev/null
bash scripts/build-gvisor.sh >/dev/null
NSREPORT_CONTAINERD2_BIN=$(bash scripts/build-containerd.sh)
NSREPORT_HELM=$(bash scripts/build-helm.sh)
NSREPORT_UPSTREAM_CRDS=$(bash scripts/fetch-crds.sh)
export NSREPORT_CONTAINERD2_BIN NSREPORT_HELM NSREPORT_UPSTREAM_CRDS

lab=$(mktemp -d /tmp/nsreport-lab.XXXXXX)
cluster=$(mktemp -d /tmp/nsreport-cluster.XXXXXX)
# Phase 2 runs the same kubelet suite once per runtime, each on a cluster of its own; on
# containerd2 (containerd 2.2 on runc 1.5, which can give user namespaces) the isolation suite.
read -r -a runtimes <<<"${NSREPORT_E2E_RUNTIMES:-containerd crio containerd2}"
kclusters=()
for rt in "${runtimes[@]}"; do kclusters+=("$(mktemp -u "/tmp/nsreport-kubelet-$rt.XXXXXX")"); done
imagedir=$(mktemp -d /tmp/nsreport-img.XXXXXX)
[ -e /var/lib/kubelet ] && had_kubelet_root=1 || had_kubelet_root=0
# The events suite starts (and stops) a second lab on containerd 2.x here.
NSREPORT_LAB2_DIR=$(mktemp -u /tmp/nsreport-lab2.XXXXXX)
export NSREPORT_LAB2_DIR
export NSREPORT_E2E_NODE=nsr-e2e-node
netns_before=$(find /run/netns -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | sort || true)
[ -e /run/netns ] && had_netns_dir=1 || had_netns_dir=0

teardown() {
  set +e
  if [ -f "$lab/env" ]; then
    # shellcheck source=/dev/null # written at run time
    (set -a; . "$lab/env"; set +a; node dist/test/lab/cli.js delete)
  fi
  bash test/lab/lab.sh down "$lab"
  bash test/lab/lab.sh down "$NSREPORT_LAB2_DIR"
  bash test/cluster/cluster.sh down "$cluster"
  local k
  for k in "${kclusters[@]}"; do
    bash test/cluster/node.sh down "$k"
    bash test/cluster/cluster.sh down "$k"
  done
  rm -rf "$imagedir"
}
trap teardown EXIT

# The newcomer's command: with no runtime at the default sockets it shows the procfs-only view.
scan_out=$(mktemp)
npm run --silent scan >"$scan_out"
if ls /run/containerd/containerd.sock /run/crio/crio.sock /run/k3s/containerd/containerd.sock \
  /var/run/cri-dockerd.sock >/dev/null 2>&1; then
  echo "e2e: npm run scan: a runtime is on this machine: pod view"
  grep -q '^NAMESPACE ' "$scan_out"
else
  echo "e2e: npm run scan: no runtime at the default sockets: procfs-only view"
  grep -q '^TYPE ' "$scan_out" && grep -q '^net ' "$scan_out" && grep -q '^mnt ' "$scan_out"
fi
rm -f "$scan_out"

bash test/cluster/cluster.sh up "$cluster"
bash test/lab/lab.sh up "$lab"
set -a
# shellcheck source=/dev/null # written at run time
. "$lab/env"
# shellcheck source=/dev/null # written at run time
. "$cluster/env"
set +a
# kubectl of the control plane's version first (the machine's may be older).
export PATH="$NSREPORT_CLUSTER_BIN:$PATH"
node dist/test/lab/cli.js create --kubeconfig "$NSREPORT_CLUSTER_KUBECONFIG" --node "$NSREPORT_E2E_NODE"

rc=0
# One file at a time, in this order: the agent suite adds and removes pods the others look at, and
# crd-missing removes the CRD (every report with it), so it goes last. A suite not listed fails.
suites=(agent audit cri deploy events monitoring openreports reconcile scan isolation plugin crd-missing)
for f in dist/test/e2e/*.test.js; do
  name=$(basename "$f" .test.js)
  [[ " ${suites[*]} " == *" $name "* ]] || { echo "e2e: $f is not in the suite order of test/e2e/run.sh" >&2; exit 1; }
done
files=()
for name in "${suites[@]}"; do files+=("dist/test/e2e/$name.test.js"); done
node --test --test-concurrency=1 "${files[@]}" || rc=$?
bash test/lab/lab.sh down "$lab"
bash test/cluster/cluster.sh down "$cluster"

echo "e2e: phase 2: a kubelet-made node (${runtimes[*]})"
t0=$SECONDS
bash test/cluster/image.sh build "$imagedir/nsreport.tar"
echo "e2e: image built in $((SECONDS - t0)) s"
for i in "${!runtimes[@]}"; do
  rt=${runtimes[$i]}
  kcluster=${kclusters[$i]}
  t0=$SECONDS
  bash test/cluster/cluster.sh up "$kcluster" kubelet
  NSREPORT_NODE_RUNTIME=$rt bash test/cluster/node.sh up "$kcluster"
  echo "e2e: kubelet cluster on $rt up in $((SECONDS - t0)) s"
  (
    set -a
    # shellcheck source=/dev/null # written at run time
    . "$kcluster/env"
    set +a
    export NSREPORT_CLUSTER_KUBECONFIG="$kcluster/admin.kubeconfig"
    export NSREPORT_IMAGE_TAR="$imagedir/nsreport.tar"
    suite=kubelet
    [ "$rt" = containerd2 ] && suite=isolation
    node --test --test-concurrency=1 dist/test/$suite/*.test.js
  ) || rc=$?
  echo "e2e: kubelet-node suite on $rt done in $((SECONDS - t0)) s"
  bash test/cluster/node.sh down "$kcluster"
  bash test/cluster/cluster.sh down "$kcluster"
done

teardown
trap - EXIT
[ "$had_netns_dir" = 1 ] || rmdir /run/netns 2>/dev/null || true

# Nothing may be left behind: processes, mounts, netns, the bridge.
leftovers=0
for d in "$lab" "$NSREPORT_LAB2_DIR" "$cluster" "${kclusters[@]}" "$imagedir"; do
  if pgrep -f -- "$d" >/dev/null; then
    echo "e2e: processes left behind:" >&2; pgrep -af -- "$d" >&2; leftovers=1
  fi
  if [ -e "$d" ]; then echo "e2e: $d left behind" >&2; leftovers=1; fi
done
for d in "$lab" "$NSREPORT_LAB2_DIR" "${kclusters[@]}" /var/lib/kubelet; do
  if grep -q -- "$d" /proc/self/mountinfo; then
    echo "e2e: mounts left behind:" >&2; grep -- "$d" /proc/self/mountinfo >&2; leftovers=1
  fi
done
netns_after=$(find /run/netns -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | sort || true)
if [ "$netns_before" != "$netns_after" ]; then
  echo "e2e: network namespaces left behind: $(comm -13 <(echo "$netns_before") <(echo "$netns_after") | tr '\n' ' ')" >&2
  leftovers=1
fi
if [ "$had_kubelet_root" = 0 ] && [ -e /var/lib/kubelet ]; then
  echo "e2e: /var/lib/kubelet left behind" >&2; leftovers=1
fi
if ip -br addr show dev lo | grep -q '10\.96\.0\.1/'; then
  echo "e2e: the service address 10.96.0.1 left on lo" >&2; leftovers=1
fi
for br in nsrlab0 nsrlab1 nsrlab2 nsrk8s0 cni-podman0; do
  if ip link show "$br" >/dev/null 2>&1; then echo "e2e: bridge $br left behind" >&2; leftovers=1; fi
done
if command -v nft >/dev/null && nft list table ip crio-hostports >/dev/null 2>&1; then
  echo "e2e: the nftables table crio-hostports left behind" >&2; leftovers=1
fi
[ "$leftovers" = 0 ] && echo "e2e: nothing left behind"
[ "$rc" = 0 ] && [ "$leftovers" = 0 ]
