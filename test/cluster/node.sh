#!/usr/bin/env bash
# A kubelet-made node for the e2e suite: a kubelet of the cluster's version (scripts/build-k8s.sh)
# with its default root dir /var/lib/kubelet and a staticPodPath, on a runtime of its own (the
# lab's setup: test/lab/lab.sh, with its own bridge; NSREPORT_NODE_RUNTIME=containerd, containerd2
# or crio; on containerd2 the RuntimeClasses runc, debrunc and runsc name its handlers) —
# a kubelet kills every CRI pod it does not know, so it never shares a runtime with pods made by
# hand. Needs a control plane made by `cluster.sh up DIR kubelet`.
#
#   node.sh up DIR      start the runtime and the kubelet; wait for the node to be Ready
#   node.sh down DIR    stop them and remove everything they made (mounts, netns, /var/lib/kubelet)
#
# The KubeletConfiguration is what runs on these machines (cgroup v1, containerd 1.6, CRI-O 1.34): no QoS
# cgroups, no swap or kernel-default checks, cgroupfs, and no eviction or image GC to surprise a
# test.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
NODE=${NSREPORT_NODE_NAME:-nsr-kubelet-node}
# The node's CRI runtime, as test/lab/lab.sh makes it: containerd (Debian's 1.6), containerd2
# (2.x on runc 1.5.3: user namespaces) or crio.
RUNTIME=${NSREPORT_NODE_RUNTIME:-containerd}
KUBELET_ROOT=/var/lib/kubelet
log() { printf 'node: %s\n' "$*" >&2; }
# shellcheck source=lib.sh
. "$root/test/cluster/lib.sh"

up() {
  local dir
  dir=$(cd "${1:?cluster dir}" && pwd)
  local bin kubeconfig=$dir/admin.kubeconfig
  bin=$(cat "$dir/bin")
  [ -e "$KUBELET_ROOT" ] || touch "$dir/made-kubelet-root"
  NSREPORT_LAB_BRIDGE=nsrk8s0 NSREPORT_LAB_SUBNET=10.88.90.0/24 NSREPORT_LAB_DEFAULT_ROUTE=1 \
    NSREPORT_LAB_RUNTIME=$RUNTIME bash "$root/test/lab/lab.sh" up "$dir/runtime"
  local socket
  socket=$(sed -n 's/^NSREPORT_LAB_SOCKET=//p' "$dir/runtime/env")
  mkdir -p "$dir/manifests" "$dir/kubelet-pki" "$dir/pod-logs"
  local port healthz
  port=$(free_port)
  healthz=$(free_port)
  cat >"$dir/kubelet.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
failCgroupV1: false
failSwapOn: false
cgroupDriver: cgroupfs
cgroupsPerQOS: false
enforceNodeAllocatable: []
protectKernelDefaults: false
localStorageCapacityIsolation: false
makeIPTablesUtilChains: false
readOnlyPort: 0
port: $port
healthzPort: $healthz
healthzBindAddress: 127.0.0.1
staticPodPath: $dir/manifests
podLogsDir: $dir/pod-logs
containerRuntimeEndpoint: unix://$socket
resolvConf: /etc/resolv.conf
evictionHard:
  memory.available: 100Mi
imageGCHighThresholdPercent: 100
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: false}
  x509: {clientCAFile: $dir/pki/ca.crt}
authorization:
  mode: AlwaysAllow
YAML
  "$bin/kubelet" --config="$dir/kubelet.yaml" --kubeconfig="$dir/kubelet.kubeconfig" \
    --hostname-override="$NODE" --cert-dir="$dir/kubelet-pki" \
    >"$dir/kubelet.log" 2>&1 &
  echo $! >"$dir/kubelet.pid"
  cat >>"$dir/env" <<ENV
NSREPORT_NODE_NAME=$NODE
NSREPORT_NODE_SOCKET=$socket
NSREPORT_NODE_MANIFESTS=$dir/manifests
NSREPORT_NODE_KUBELET_PID=$(cat "$dir/kubelet.pid")
ENV
  sed 's/^NSREPORT_LAB_/NSREPORT_NODE_LAB_/' "$dir/runtime/env" >>"$dir/env"
  local i
  for i in $(seq 1 300); do
    if [ "$("$bin/kubectl" --kubeconfig "$kubeconfig" get node "$NODE" \
      -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ] &&
      [ -z "$("$bin/kubectl" --kubeconfig "$kubeconfig" get node "$NODE" -o jsonpath='{.spec.taints}')" ]; then
      log "node $NODE Ready and untainted after ${i}x0.5 s"
      [ "$RUNTIME" = containerd2 ] && runtime_classes "$bin/kubectl" "$kubeconfig"
      return 0
    fi
    if ! kill -0 "$(cat "$dir/kubelet.pid")" 2>/dev/null; then
      log "kubelet exited; its log:"; tail -30 "$dir/kubelet.log" >&2; return 1
    fi
    sleep 0.5
  done
  log "node $NODE did not become Ready; kubelet log:"
  tail -30 "$dir/kubelet.log" >&2
  return 1
}

# A RuntimeClass for each handler of the containerd2 lab (test/lab/lab.sh): runc (runc 1.5.3, the
# default), debrunc (Debian's runc, without user namespaces) and runsc (gVisor).
runtime_classes() {
  local kubectl=$1 kubeconfig=$2 handler
  for handler in runc debrunc runsc; do
    printf -- '---\napiVersion: node.k8s.io/v1\nkind: RuntimeClass\nmetadata: {name: %s}\nhandler: %s\n' \
      "$handler" "$handler"
  done | "$kubectl" --kubeconfig "$kubeconfig" apply -f - >/dev/null
  log "RuntimeClasses runc, debrunc and runsc created"
}

down() {
  local dir=${1:?cluster dir}
  [ -d "$dir" ] || return 0
  dir=$(cd "$dir" && pwd)
  stop_pid "$dir/kubelet.pid"
  # The containers, their shims or conmons, mounts, netns and bridge (what the lab made).
  bash "$root/test/lab/lab.sh" down "$dir/runtime"
  # The kubelet's volumes (tmpfs for secrets and tokens, bind mounts) and the bind mount of its
  # root dir onto itself, deepest first; then its state, if this script made the directory.
  awk -v d="$KUBELET_ROOT" '$5 == d || index($5, d "/") == 1 {print $5}' /proc/self/mountinfo |
    sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
  if [ -f "$dir/made-kubelet-root" ]; then
    rm -rf "$KUBELET_ROOT"
    rm -f "$dir/made-kubelet-root"
  fi
  # The kubelet links each container's log into /var/log/containers whatever its podLogsDir:
  # remove the links into this node's.
  local link
  for link in /var/log/containers/*.log; do
    [ -L "$link" ] || continue
    case "$(readlink "$link")" in "$dir/pod-logs/"*) rm -f "$link" ;; esac
  done
}

case "${1:-}" in
  up) up "${2:?dir}" ;;
  down) down "${2:?dir}" ;;
  *) echo "usage: node.sh up|down DIR" >&2; exit 2 ;;
esac
