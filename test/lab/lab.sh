#!/usr/bin/env bash
# The containerd test lab: a private containerd + runc + CNI bridge and a locally built busybox
# image. Nothing is pulled from a registry (none is reachable); nothing outside $NSREPORT_LAB_DIR
# is touched except the lab bridge (nsrlab0), the pod netns under /run/netns (removed with the
# sandboxes) and the Debian packages it installs when missing.
#
#   lab.sh install        install the Debian packages the lab needs (idempotent)
#   lab.sh up DIR         start containerd in DIR (writes DIR/env with the socket path)
#   lab.sh down DIR       stop it and remove everything it made
#
# Pods are created through CRI by test/lab/pods (TypeScript), as kubelet would.
set -euo pipefail

# A second lab can run beside the first with its own bridge and subnet.
BRIDGE=${NSREPORT_LAB_BRIDGE:-nsrlab0}
SUBNET=${NSREPORT_LAB_SUBNET:-10.88.77.0/24}
IMAGE=nsreport.test/busybox:1
PAUSE_IMAGE=nsreport.test/pause:1
# The same busybox with /var/run -> /run, as in Debian and Ubuntu images.
VARRUN_IMAGE=nsreport.test/busybox-varrun:1
# NSREPORT_LAB_DEFAULT_ROUTE=1: pods get a default route through the bridge (the kubelet
# cluster's pods reach the API server's service address on the host that way).
DEFAULT_ROUTE=${NSREPORT_LAB_DEFAULT_ROUTE:-0}

log() { printf 'lab: %s\n' "$*" >&2; }

install_packages() {
  local missing=()
  command -v containerd >/dev/null || missing+=(containerd)
  command -v runc >/dev/null || missing+=(runc)
  [ -x /usr/lib/cni/bridge ] || missing+=(containernetworking-plugins)
  [ -x /bin/busybox ] || missing+=(busybox-static)
  command -v findmnt >/dev/null || missing+=(util-linux)
  command -v lsns >/dev/null || missing+=(util-linux)
  command -v ip >/dev/null || missing+=(iproute2)
  command -v pgrep >/dev/null || missing+=(procps)
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

# A docker-archive tar (manifest.json + config + one uncompressed layer) with the given tags:
# the workload image and the sandbox (pause) image; with varrun, /var/run is a link to /run.
build_image() {
  local dir=$1 out_tar=$2 varrun=$3
  shift 3
  local work=$dir/image
  rm -rf "$work" && mkdir -p "$work/rootfs/bin" "$work/rootfs/tmp" "$work/rootfs/etc" \
    "$work/rootfs/proc" "$work/rootfs/sys" "$work/rootfs/dev" "$work/rootfs/data" "$work/out"
  cp /bin/busybox "$work/rootfs/bin/busybox"
  local applet
  for applet in $(/bin/busybox --list); do
    [ "$applet" = busybox ] || ln -s busybox "$work/rootfs/bin/$applet"
  done
  if [ "$varrun" = 1 ]; then
    mkdir -p "$work/rootfs/run" "$work/rootfs/var"
    ln -s /run "$work/rootfs/var/run"
  fi
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$work/rootfs" -cf "$work/layer.tar" .
  local layer_sha config_sha
  layer_sha=$(sha256sum "$work/layer.tar" | cut -d' ' -f1)
  mkdir -p "$work/out/$layer_sha"
  mv "$work/layer.tar" "$work/out/$layer_sha/layer.tar"
  cat >"$work/config.json" <<JSON
{"architecture":"amd64","os":"linux","config":{"Cmd":["/bin/sleep","infinity"],"Env":["PATH=/bin"]},"rootfs":{"type":"layers","diff_ids":["sha256:$layer_sha"]}}
JSON
  config_sha=$(sha256sum "$work/config.json" | cut -d' ' -f1)
  mv "$work/config.json" "$work/out/$config_sha.json"
  local tags
  tags=$(printf '"%s",' "$@")
  cat >"$work/out/manifest.json" <<JSON
[{"Config":"$config_sha.json","RepoTags":[${tags%,}],"Layers":["$layer_sha/layer.tar"]}]
JSON
  tar -C "$work/out" -cf "$out_tar" .
  rm -rf "$work"
}

write_config() {
  local dir=$1
  mkdir -p "$dir/cni" "$dir/root" "$dir/state" "$dir/sock"
  cat >"$dir/cni/10-nsrlab.conflist" <<JSON
{
  "cniVersion": "0.4.0",
  "name": "nsreport-lab",
  "plugins": [
    {"type": "bridge", "bridge": "$BRIDGE", "isGateway": true, "ipMasq": false,
     "isDefaultGateway": $([ "$DEFAULT_ROUTE" = 1 ] && echo true || echo false),
     "ipam": {"type": "host-local", "dataDir": "$dir/cni-ipam", "ranges": [[{"subnet": "$SUBNET"}]]}},
    {"type": "loopback"}
  ]
}
JSON
  cat >"$dir/config.toml" <<TOML
version = 2
root = "$dir/root"
state = "$dir/state"
[grpc]
  address = "$dir/sock/containerd.sock"
[ttrpc]
  address = "$dir/sock/containerd.sock.ttrpc"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  restrict_oom_score_adj = true
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$dir/cni"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        Root = "$dir/runc"
[plugins."io.containerd.internal.v1.opt"]
  path = "$dir/opt"
TOML
}

# Host directories for the mount scenarios. shared/ is a bind mount of itself made shared, so
# HostToContainer shows up as a slave and Bidirectional as shared; private/ stays on the
# (private) root filesystem.
make_host_dirs() {
  local dir=$1
  # host/kubelet is the lab's kubelet root: test/lab/pods.ts makes each pod's directory there.
  mkdir -p "$dir/host/shared" "$dir/host/private" "$dir/host/h2c" "$dir/host/kubelet"
  mount --bind "$dir/host/shared" "$dir/host/shared"
  mount --make-shared "$dir/host/shared"
  mount --bind "$dir/host/h2c" "$dir/host/h2c"
  mount --make-shared "$dir/host/h2c"
}

start_containerd() {
  local dir=$1 i path=$PATH
  # NSREPORT_CONTAINERD_BIN: a directory with another containerd (and its runc shim), e.g. the
  # 2.x that scripts/build-containerd.sh builds; remembered for restarts.
  [ -n "${NSREPORT_CONTAINERD_BIN:-}" ] && echo "$NSREPORT_CONTAINERD_BIN" >"$dir/containerd.bin"
  [ -f "$dir/containerd.bin" ] && path="$(cat "$dir/containerd.bin"):$PATH"
  log "starting $(PATH=$path containerd --version | awk '{print $1, $3}') in $dir"
  PATH=$path containerd --config "$dir/config.toml" >>"$dir/containerd.log" 2>&1 &
  echo $! >"$dir/containerd.pid"
  for i in $(seq 1 100); do
    if ctr -a "$dir/sock/containerd.sock" version >/dev/null 2>&1; then return 0; fi
    if ! kill -0 "$(cat "$dir/containerd.pid")" 2>/dev/null; then
      log "containerd exited; its log:"; tail -20 "$dir/containerd.log" >&2; return 1
    fi
    sleep 0.1
  done
  log "containerd did not answer"
  return 1
}

# Stops containerd only: the shims and the containers keep running, as on a real node.
stop_containerd() {
  local dir=$1 pid
  pid=$(cat "$dir/containerd.pid")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
}

up() {
  local dir=$1
  install_packages
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  # containerd 1.6 keeps shim sockets in /run/containerd/s whatever its state dir: remember
  # whether that directory is ours to remove.
  [ -e /run/containerd ] || touch "$dir/made-run-containerd"
  write_config "$dir"
  make_host_dirs "$dir"
  build_image "$dir" "$dir/image.tar" 0 "$IMAGE" "$PAUSE_IMAGE"
  build_image "$dir" "$dir/image-varrun.tar" 1 "$VARRUN_IMAGE"
  start_containerd "$dir"
  local tar
  for tar in "$dir/image.tar" "$dir/image-varrun.tar"; do
    ctr -a "$dir/sock/containerd.sock" -n k8s.io images import "$tar" >/dev/null
  done
  cat >"$dir/env" <<ENV
NSREPORT_LAB_DIR=$dir
NSREPORT_LAB_SOCKET=$dir/sock/containerd.sock
NSREPORT_LAB_IMAGE=$IMAGE
NSREPORT_LAB_VARRUN_IMAGE=$VARRUN_IMAGE
NSREPORT_LAB_HOST_DIR=$dir/host
NSREPORT_LAB_BRIDGE=$BRIDGE
ENV
  log "containerd ready at $dir/sock/containerd.sock"
}

down() {
  local dir=$1
  [ -d "$dir" ] || return 0
  dir=$(cd "$dir" && pwd)
  if [ -f "$dir/containerd.pid" ]; then
    local pid
    pid=$(cat "$dir/containerd.pid")
    if kill -0 "$pid" 2>/dev/null; then
      # Sandboxes first, through CRI, so runc, the shims and CNI clean up their side.
      if [ -S "$dir/sock/containerd.sock" ]; then
        ctr -a "$dir/sock/containerd.sock" -n k8s.io tasks ls -q 2>/dev/null | while read -r t; do
          ctr -a "$dir/sock/containerd.sock" -n k8s.io tasks kill -s SIGKILL "$t" >/dev/null 2>&1 || true
        done
      fi
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
    fi
  fi
  # Shims outlive containerd by design: stop the ones that belong to this lab (matched by the
  # lab's address on their command line, never by name alone), then their containers.
  local p
  for p in $(pgrep -f -- "-address $dir/sock/containerd.sock" || true); do kill -9 "$p" 2>/dev/null || true; done
  # Unmount everything below the lab dir, deepest first.
  awk -v d="$dir" '$5 == d || index($5, d "/") == 1 {print $5}' /proc/self/mountinfo | sort -r | while read -r m; do
    umount -l "$m" 2>/dev/null || true
  done
  # Pod netns left by CNI (only those whose sandboxes the lab made are named in its state).
  local ns
  for ns in $(grep -rahoE 'cni-[0-9a-f-]{36}' "$dir/state" "$dir/root" 2>/dev/null | sort -u || true); do
    [ -e "/run/netns/$ns" ] && { umount "/run/netns/$ns" 2>/dev/null || true; rm -f "/run/netns/$ns"; }
  done
  local bridge
  bridge=$(sed -n 's/^NSREPORT_LAB_BRIDGE=//p' "$dir/env" 2>/dev/null)
  ip link del "${bridge:-$BRIDGE}" 2>/dev/null || true
  if [ -f "$dir/made-run-containerd" ]; then
    rmdir /run/containerd/s /run/containerd/runc/k8s.io /run/containerd/runc /run/containerd 2>/dev/null || true
  fi
  rm -rf "$dir"
}

case "${1:-}" in
  install) install_packages ;;
  up) up "${2:?lab dir}" ;;
  down) down "${2:?lab dir}" ;;
  stop-containerd) stop_containerd "$(cd "${2:?lab dir}" && pwd)" ;;
  start-containerd) start_containerd "$(cd "${2:?lab dir}" && pwd)" ;;
  *) echo "usage: lab.sh install|up DIR|down DIR|stop-containerd DIR|start-containerd DIR" >&2; exit 2 ;;
esac
