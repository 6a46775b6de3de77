#!/usr/bin/env bash
# A real Kubernetes control plane for the tests: etcd, kube-apiserver (TLS, RBAC) and
# kube-controller-manager, built from the Go module proxy by scripts/build-k8s.sh (cached outside
# the repo), with the NamespaceReport CRD applied. Two profiles:
#   lab (default)  the garbage collector and namespace controllers only; Pods are bound to a node
#                  that no kubelet runs (the containerd lab makes their sandboxes through CRI)
#   kubelet        what a real cluster runs for a kubelet-made node (test/cluster/node.sh): every
#                  default controller, kube-scheduler, the ServiceAccount admission plugin, and
#                  the API server on the `kubernetes` Service's address (10.96.0.1:443, a local
#                  address of the host), which is how pods reach it without kube-proxy
#
#   cluster.sh up DIR [lab|kubelet]   start everything; DIR/env has KUBECONFIG and the ports
#   cluster.sh stop-apiserver DIR     stop kube-apiserver only (outage tests)
#   cluster.sh start-apiserver DIR    start it again with the same flags
#   cluster.sh down DIR               stop everything and remove DIR
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
log() { printf 'cluster: %s\n' "$*" >&2; }
SERVICE_IP=10.96.0.1
# The kubelet-made node's name (test/cluster/node.sh): its client certificate names it.
NSREPORT_NODE_NAME=${NSREPORT_NODE_NAME:-nsr-kubelet-node}

# shellcheck source=lib.sh
. "$root/test/cluster/lib.sh"

certs() {
  local d=$1/pki
  mkdir -p "$d"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=nsreport-test-ca" \
    -keyout "$d/ca.key" -out "$d/ca.crt" 2>/dev/null
  issue() { # name subject [san]
    openssl req -newkey rsa:2048 -nodes -subj "$2" -keyout "$d/$1.key" -out "$d/$1.csr" 2>/dev/null
    local ext=$d/$1.ext
    printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=%s\n' "$4" >"$ext"
    [ -n "$3" ] && printf 'subjectAltName=%s\n' "$3" >>"$ext"
    openssl x509 -req -in "$d/$1.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial -days 2 \
      -extfile "$ext" -out "$d/$1.crt" 2>/dev/null
  }
  issue apiserver "/CN=kube-apiserver" "IP:127.0.0.1,IP:$SERVICE_IP,DNS:localhost,DNS:kubernetes.default.svc,DNS:kubernetes.default,DNS:kubernetes" serverAuth
  issue admin "/O=system:masters/CN=nsreport-admin" "" clientAuth
  # The controller manager runs with one identity (no per-controller service accounts here):
  # its garbage collector must read and delete any resource, so it is a cluster admin.
  issue controller-manager "/O=system:masters/CN=system:kube-controller-manager" "" clientAuth
  # The kubelet: the Node authorizer knows it by this name and group.
  issue kubelet "/O=system:nodes/CN=system:node:$NSREPORT_NODE_NAME" "" clientAuth
  openssl genrsa -out "$d/sa.key" 2048 2>/dev/null
  openssl rsa -in "$d/sa.key" -pubout -out "$d/sa.pub" 2>/dev/null
}

kubeconfig() { # file user
  local dir=$1 user=$2 port host
  port=$(cat "$dir/apiserver.port")
  host=$(cat "$dir/apiserver.host")
  cat >"$dir/$user.kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters:
- name: test
  cluster:
    server: https://$host:$port
    certificate-authority: $dir/pki/ca.crt
users:
- name: $user
  user:
    client-certificate: $dir/pki/$user.crt
    client-key: $dir/pki/$user.key
contexts:
- name: test
  context: {cluster: test, user: $user}
current-context: test
KC
}

wait_for() { # what cmd...
  local what=$1
  shift
  for _ in $(seq 1 300); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  log "$what did not come up"
  return 1
}

start_apiserver() {
  local dir=$1 bin admission=(--disable-admission-plugins=ServiceAccount)
  bin=$(cat "$dir/bin")
  # The lab's Pods have no service account token to mount (no kubelet); a kubelet's do.
  [ "$(cat "$dir/profile")" = kubelet ] && admission=()
  "$bin/kube-apiserver" \
    --etcd-servers="http://127.0.0.1:$(cat "$dir/etcd.port")" \
    --bind-address="$(cat "$dir/apiserver.host")" --advertise-address="$(cat "$dir/apiserver.host")" \
    --secure-port="$(cat "$dir/apiserver.port")" \
    --cert-dir="$dir/pki/serving" \
    --tls-cert-file="$dir/pki/apiserver.crt" --tls-private-key-file="$dir/pki/apiserver.key" \
    --client-ca-file="$dir/pki/ca.crt" \
    --service-account-issuer=https://kubernetes.default.svc \
    --service-account-key-file="$dir/pki/sa.pub" \
    --service-account-signing-key-file="$dir/pki/sa.key" \
    --authorization-mode=Node,RBAC --service-cluster-ip-range=10.96.0.0/24 \
    --allow-privileged=true "${admission[@]}" \
    --kubelet-preferred-address-types=InternalIP \
    --kubelet-client-certificate="$dir/pki/admin.crt" --kubelet-client-key="$dir/pki/admin.key" \
    >>"$dir/apiserver.log" 2>&1 &
  echo $! >"$dir/apiserver.pid"
  wait_for kube-apiserver kubectl --kubeconfig "$dir/admin.kubeconfig" get --raw /readyz
}

up() {
  local dir=$1 profile=${2:-lab} bin
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  bin=$(bash "$root/scripts/build-k8s.sh")
  echo "$bin" >"$dir/bin"
  echo "$profile" >"$dir/profile"
  export PATH="$bin:$PATH"
  certs "$dir"
  free_port >"$dir/etcd.port"
  free_port >"$dir/etcd-peer.port"
  if [ "$profile" = kubelet ]; then
    # The `kubernetes` Service's ClusterIP as a local address of the host (on lo: no dummy
    # interfaces here): pods route to it through their bridge.
    ip addr add "$SERVICE_IP/32" dev lo
    echo "$SERVICE_IP" >"$dir/apiserver.host"
    echo 443 >"$dir/apiserver.port"
  else
    echo 127.0.0.1 >"$dir/apiserver.host"
    free_port >"$dir/apiserver.port"
  fi
  "$bin/etcd" --name test --data-dir "$dir/etcd" --unsafe-no-fsync \
    --listen-client-urls "http://127.0.0.1:$(cat "$dir/etcd.port")" \
    --advertise-client-urls "http://127.0.0.1:$(cat "$dir/etcd.port")" \
    --listen-peer-urls "http://127.0.0.1:$(cat "$dir/etcd-peer.port")" \
    --initial-advertise-peer-urls "http://127.0.0.1:$(cat "$dir/etcd-peer.port")" \
    --initial-cluster "test=http://127.0.0.1:$(cat "$dir/etcd-peer.port")" \
    >"$dir/etcd.log" 2>&1 &
  echo $! >"$dir/etcd.pid"
  kubeconfig "$dir" admin
  kubeconfig "$dir" controller-manager
  kubeconfig "$dir" kubelet
  start_apiserver "$dir"
  local controllers=garbage-collector-controller,namespace-controller
  # Every default controller: node lifecycle (removes the not-ready taint), daemonset,
  # deployment, replicaset, statefulset, serviceaccount(-token), root CA publisher, GC, …
  [ "$profile" = kubelet ] && controllers='*'
  "$bin/kube-controller-manager" --kubeconfig="$dir/controller-manager.kubeconfig" \
    --controllers="$controllers" --leader-elect=false \
    --bind-address=127.0.0.1 --secure-port="$(free_port)" \
    --service-account-private-key-file="$dir/pki/sa.key" --root-ca-file="$dir/pki/ca.crt" \
    >"$dir/controller-manager.log" 2>&1 &
  echo $! >"$dir/controller-manager.pid"
  if [ "$profile" = kubelet ]; then
    "$bin/kube-scheduler" --kubeconfig="$dir/controller-manager.kubeconfig" --leader-elect=false \
      --bind-address=127.0.0.1 --secure-port="$(free_port)" \
      >"$dir/scheduler.log" 2>&1 &
    echo $! >"$dir/scheduler.pid"
  fi
  kubectl --kubeconfig "$dir/admin.kubeconfig" apply -f "$root/charts/nsreport/crds/" >/dev/null
  wait_for "the NamespaceReport CRD" kubectl --kubeconfig "$dir/admin.kubeconfig" wait --for=condition=Established --timeout=5s crd/namespacereports.nsreport.dev
  cat >"$dir/env" <<ENV
NSREPORT_CLUSTER_DIR=$dir
NSREPORT_CLUSTER_BIN=$bin
NSREPORT_CLUSTER_KUBECONFIG=$dir/admin.kubeconfig
ENV
  log "kube-apiserver $("$bin/kube-apiserver" --version | awk '{print $2}') ($profile) ready on $(cat "$dir/apiserver.host"):$(cat "$dir/apiserver.port")"
}

down() {
  local dir=$1
  [ -d "$dir" ] || return 0
  stop_pid "$dir/scheduler.pid"
  stop_pid "$dir/controller-manager.pid"
  stop_pid "$dir/apiserver.pid"
  stop_pid "$dir/etcd.pid"
  if [ "$(cat "$dir/profile" 2>/dev/null)" = kubelet ]; then
    ip addr del "$SERVICE_IP/32" dev lo 2>/dev/null || true
  fi
  rm -rf "$dir"
}

case "${1:-}" in
  up) up "${2:?dir}" "${3:-lab}" ;;
  down) down "${2:?dir}" ;;
  stop-apiserver) stop_pid "${2:?dir}/apiserver.pid" ;;
  start-apiserver)
    PATH="$(cat "${2:?dir}/bin"):$PATH" start_apiserver "$2"
    ;;
  *) echo "usage: cluster.sh up|down|stop-apiserver|start-apiserver DIR" >&2; exit 2 ;;
esac
