#!/usr/bin/env bash
# A real Kubernetes control plane for the tests: etcd, kube-apiserver (TLS, RBAC) and
# kube-controller-manager (garbage collector, namespace controller), built from the Go module
# proxy by scripts/build-k8s.sh (cached outside the repo), with the NamespaceReport CRD applied.
#
#   cluster.sh up DIR                 start everything; DIR/env has KUBECONFIG and the ports
#   cluster.sh stop-apiserver DIR     stop kube-apiserver only (outage tests)
#   cluster.sh start-apiserver DIR    start it again with the same flags
#   cluster.sh down DIR               stop everything and remove DIR
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
log() { printf 'cluster: %s\n' "$*" >&2; }

free_port() { node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }

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
  issue apiserver "/CN=kube-apiserver" "IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc" serverAuth
  issue admin "/O=system:masters/CN=nsreport-admin" "" clientAuth
  # The controller manager runs with one identity (no per-controller service accounts here):
  # its garbage collector must read and delete any resource, so it is a cluster admin.
  issue controller-manager "/O=system:masters/CN=system:kube-controller-manager" "" clientAuth
  openssl genrsa -out "$d/sa.key" 2048 2>/dev/null
  openssl rsa -in "$d/sa.key" -pubout -out "$d/sa.pub" 2>/dev/null
}

kubeconfig() { # file user
  local dir=$1 user=$2 port
  port=$(cat "$dir/apiserver.port")
  cat >"$dir/$user.kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters:
- name: test
  cluster:
    server: https://127.0.0.1:$port
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
  local dir=$1 bin
  bin=$(cat "$dir/bin")
  "$bin/kube-apiserver" \
    --etcd-servers="http://127.0.0.1:$(cat "$dir/etcd.port")" \
    --bind-address=127.0.0.1 --secure-port="$(cat "$dir/apiserver.port")" \
    --cert-dir="$dir/pki/serving" \
    --tls-cert-file="$dir/pki/apiserver.crt" --tls-private-key-file="$dir/pki/apiserver.key" \
    --client-ca-file="$dir/pki/ca.crt" \
    --service-account-issuer=https://kubernetes.default.svc \
    --service-account-key-file="$dir/pki/sa.pub" \
    --service-account-signing-key-file="$dir/pki/sa.key" \
    --authorization-mode=Node,RBAC --service-cluster-ip-range=10.96.0.0/24 \
    --allow-privileged=true --disable-admission-plugins=ServiceAccount \
    >>"$dir/apiserver.log" 2>&1 &
  echo $! >"$dir/apiserver.pid"
  wait_for kube-apiserver kubectl --kubeconfig "$dir/admin.kubeconfig" get --raw /readyz
}

stop_pid() { # pidfile
  [ -f "$1" ] || return 0
  local pid
  pid=$(cat "$1")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$1"
}

up() {
  local dir=$1 bin
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  bin=$(bash "$root/scripts/build-k8s.sh")
  echo "$bin" >"$dir/bin"
  export PATH="$bin:$PATH"
  certs "$dir"
  free_port >"$dir/etcd.port"
  free_port >"$dir/etcd-peer.port"
  free_port >"$dir/apiserver.port"
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
  start_apiserver "$dir"
  "$bin/kube-controller-manager" --kubeconfig="$dir/controller-manager.kubeconfig" \
    --controllers=garbage-collector-controller,namespace-controller --leader-elect=false \
    --bind-address=127.0.0.1 --secure-port="$(free_port)" \
    --service-account-private-key-file="$dir/pki/sa.key" \
    >"$dir/controller-manager.log" 2>&1 &
  echo $! >"$dir/controller-manager.pid"
  kubectl --kubeconfig "$dir/admin.kubeconfig" apply -f "$root/charts/nsreport/crds/" >/dev/null
  wait_for "the NamespaceReport CRD" kubectl --kubeconfig "$dir/admin.kubeconfig" wait --for=condition=Established --timeout=5s crd/namespacereports.nsreport.dev
  cat >"$dir/env" <<ENV
NSREPORT_CLUSTER_DIR=$dir
NSREPORT_CLUSTER_BIN=$bin
NSREPORT_CLUSTER_KUBECONFIG=$dir/admin.kubeconfig
ENV
  log "kube-apiserver $("$bin/kube-apiserver" --version | awk '{print $2}') ready on 127.0.0.1:$(cat "$dir/apiserver.port")"
}

down() {
  local dir=$1
  [ -d "$dir" ] || return 0
  stop_pid "$dir/controller-manager.pid"
  stop_pid "$dir/apiserver.pid"
  stop_pid "$dir/etcd.pid"
  rm -rf "$dir"
}

case "${1:-}" in
  up) up "${2:?dir}" ;;
  down) down "${2:?dir}" ;;
  stop-apiserver) stop_pid "${2:?dir}/apiserver.pid" ;;
  start-apiserver)
    PATH="$(cat "${2:?dir}/bin"):$PATH" start_apiserver "$2"
    ;;
  *) echo "usage: cluster.sh up|down|stop-apiserver|start-apiserver DIR" >&2; exit 2 ;;
esac
