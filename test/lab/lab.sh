#!/usr/bin/env bash
# The containerd test lab: a private containerd + runc + CNI bridge and a locally built busybox
# image. Nothing is pulled from a registry (none is reachable); nothing outside $NSREPORT_LAB_DIR
# is touched except the lab bridge (nsrlab0), the pod netns under /run/netns (removed with the
# sandboxes) and the Debian packages it installs when missing.
#
#   lab.sh install          install the Debian packages the lab needs (idempotent)
#   lab.sh up DIR           start the runtime in DIR (writes DIR/env with the socket path)
#   lab.sh down DIR         stop it and remove everything it made
#   lab.sh stop-runtime DIR / start-runtime DIR   stop the runtime only (its containers go on)
#   lab.sh import DIR TAR   an image archive (docker-archive or OCI archive) into the runtime
#
# Pods are created through CRI by test/lab/pods (TypeScript), as kubelet would.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)

# A second lab can run beside the first with its own bridge and subnet.
BRIDGE=${NSREPORT_LAB_BRIDGE:-nsrlab0}
# The CRI runtime: containerd (default: Debian's 1.6; NSREPORT_CONTAINERD_BIN for another build),
# containerd2 (2.x from scripts/build-containerd.sh on runc 1.5.3 from scripts/build-runc.sh, which
# can run user-namespaced pods; a second handler `debrunc` runs Debian's runc) or crio
# (scripts/build-crio.sh; NSREPORT_LAB_CRIO_POD_EVENTS=1 turns on its pod events).
RUNTIME=${NSREPORT_LAB_RUNTIME:-containerd}
SUBNET=${NSREPORT_LAB_SUBNET:-10.88.77.0/24}
IMAGE=nsreport.test/busybox:1
PAUSE_IMAGE=nsreport.test/pause:1
# The same busybox with /var/run -> /run, as in Debian and Ubuntu images.
VARRUN_IMAGE=nsreport.test/busybox-varrun:1
# The same busybox with a user app (1000:1000) that /etc/group makes a member of extra (2000).
GROUPS_IMAGE=nsreport.test/busybox-groups:1
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
  if [ "$RUNTIME" = crio ]; then
    command -v conmon >/dev/null || missing+=(conmon)
    command -v skopeo >/dev/null || missing+=(skopeo)
    command -v python3 >/dev/null || missing+=(python3)
  fi
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

# A docker-archive tar (manifest.json + config + one uncompressed layer) with the given tags:
# the workload image and the sandbox (pause) image. Variants: plain; varrun (/var/run is a link to
# /run); groups (/etc/passwd and /etc/group with a user app in a supplementary group extra).
build_image() {
  local dir=$1 out_tar=$2 variant=$3
  shift 3
  local work=$dir/image
  rm -rf "$work" && mkdir -p "$work/rootfs/bin" "$work/rootfs/tmp" "$work/rootfs/etc" \
    "$work/rootfs/proc" "$work/rootfs/sys" "$work/rootfs/dev" "$work/rootfs/data" "$work/out"
  cp /bin/busybox "$work/rootfs/bin/busybox"
  local applet
  for applet in $(/bin/busybox --list); do
    [ "$applet" = busybox ] || ln -s busybox "$work/rootfs/bin/$applet"
  done
  if [ "$variant" = varrun ]; then
    mkdir -p "$work/rootfs/run" "$work/rootfs/var"
    ln -s /run "$work/rootfs/var/run"
  fi
  if [ "$variant" = groups ]; then
    printf 'root:x:0:0:root:/:/bin/sh\napp:x:1000:1000::/:/bin/sh\n' >"$work/rootfs/etc/passwd"
    printf 'root:x:0:\napp:x:1000:\nextra:x:2000:app\n' >"$work/rootfs/etc/group"
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
  [ "$RUNTIME" = containerd2 ] && { write_containerd2_config "$dir"; return; }
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

# containerd 2.x's configuration (version 3: the CRI plugin split into images and runtime). The
# default handler runc is runc 1.5.3 (idmap mounts: hostUsers: false works); debrunc is Debian's
# runc 1.1.5 (no idmap mounts: its handler has no user namespaces). Each has its own runc root.
# runsc is gVisor (scripts/build-gvisor.sh; its shim and runsc found in PATH, systrap platform):
# a sandboxed runtime whose container PID is its sandbox's.
write_containerd2_config() {
  local dir=$1 runc debrunc
  runc=$(bash "$root/scripts/build-runc.sh")
  debrunc=$(command -v runc)
  echo "$runc" >"$dir/runc.bin"
  # gVisor's shim keeps its state (and runsc's, under it) in the lab, not /run/containerd/runsc.
  printf "root = '%s/runsc'\n" "$dir" >"$dir/runsc.toml"
  cat >"$dir/config.toml" <<TOML
version = 3
root = '$dir/root'
state = '$dir/state'
[grpc]
  address = '$dir/sock/containerd.sock'
[ttrpc]
  address = '$dir/sock/containerd.sock.ttrpc'
[plugins.'io.containerd.cri.v1.images']
  snapshotter = 'overlayfs'
  [plugins.'io.containerd.cri.v1.images'.pinned_images]
    sandbox = '$PAUSE_IMAGE'
[plugins.'io.containerd.cri.v1.runtime']
  restrict_oom_score_adj = true
  enable_selinux = false
  enable_cdi = false
  [plugins.'io.containerd.cri.v1.runtime'.cni]
    bin_dirs = ['/usr/lib/cni']
    conf_dir = '$dir/cni'
  [plugins.'io.containerd.cri.v1.runtime'.containerd]
    default_runtime_name = 'runc'
    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
      runtime_type = 'io.containerd.runc.v2'
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
        BinaryName = '$runc'
        Root = '$dir/runc'
        SystemdCgroup = false
    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.debrunc]
      runtime_type = 'io.containerd.runc.v2'
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.debrunc.options]
        BinaryName = '$debrunc'
        Root = '$dir/debrunc'
        SystemdCgroup = false
    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runsc]
      runtime_type = 'io.containerd.runsc.v1'
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runsc.options]
        TypeUrl = 'io.containerd.runsc.v1.options'
        ConfigPath = '$dir/runsc.toml'
[plugins.'io.containerd.nri.v1.nri']
  disable = true
[plugins.'io.containerd.internal.v1.opt']
  path = '$dir/opt'
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
  local dir=$1 path=$PATH
  # NSREPORT_CONTAINERD_BIN: a directory with another containerd (and its runc shim), e.g. the
  # 2.x that scripts/build-containerd.sh builds; remembered for restarts.
  [ -n "${NSREPORT_CONTAINERD_BIN:-}" ] && echo "$NSREPORT_CONTAINERD_BIN" >"$dir/containerd.bin"
  [ -f "$dir/containerd.bin" ] && path="$(cat "$dir/containerd.bin"):$PATH"
  log "starting $(PATH=$path containerd --version | awk '{print $1, $3}') in $dir"
  PATH=$path containerd --config "$dir/config.toml" >>"$dir/containerd.log" 2>&1 &
  echo $! >"$dir/containerd.pid"
  for _ in $(seq 1 100); do
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

# CRI-O with flags only (no config file): private storage (vfs), state, logs and sockets; runc
# through test/lab/runc-wrapper.py (what these machines cannot grant is trimmed); the pause
# image's own command as the infra process. Shares the lab's CNI configuration, and like the
# containerd lab opens no host ports (CRI-O's own mapping would leave an nftables table behind).
write_crio() {
  local dir=$1
  mkdir -p "$dir/root" "$dir/run" "$dir/sock" "$dir/runc" "$dir/logs" "$dir/exits" \
    "$dir/attach" "$dir/ns" "$dir/hooks" "$dir/keys"
  echo '{"default": [{"type": "insecureAcceptAnything"}]}' >"$dir/policy.json"
  cat >"$dir/runc-wrapper" <<SH
#!/bin/sh
NSREPORT_WRAPPER_LOG=$dir/wrapper.log exec python3 $root/test/lab/runc-wrapper.py $(command -v runc) "\$@"
SH
  chmod +x "$dir/runc-wrapper"
}

start_crio() {
  local dir=$1 bin events=()
  bin=$(bash "$root/scripts/build-crio.sh")
  [ "${NSREPORT_LAB_CRIO_POD_EVENTS:-0}" = 1 ] && echo 1 >"$dir/pod-events"
  [ -f "$dir/pod-events" ] && events=(--enable-pod-events)
  log "starting $("$bin/crio" --version | head -1) in $dir${events:+ (pod events on)}"
  "$bin/crio" --config "" --config-dir "" \
    --root "$dir/root" --runroot "$dir/run" --storage-driver vfs \
    --listen "$dir/sock/crio.sock" --stream-address 127.0.0.1 --stream-port 0 \
    --conmon "$(command -v conmon)" --conmon-cgroup pod --cgroup-manager cgroupfs \
    --pinns-path "$bin/pinns" --namespaces-dir "$dir/ns" \
    --cni-config-dir "$dir/cni" --cni-plugin-dir /usr/lib/cni \
    --pause-image "$PAUSE_IMAGE" --pause-command "" \
    --default-runtime runc --runtimes "runc:$dir/runc-wrapper:$dir/runc" \
    --log-dir "$dir/logs" --container-exits-dir "$dir/exits" \
    --container-attach-socket-dir "$dir/attach" --hooks-dir "$dir/hooks" \
    --decryption-keys-path "$dir/keys" --signature-policy "$dir/policy.json" \
    --version-file "$dir/run/version" --version-file-persist "$dir/version" \
    --clean-shutdown-file "$dir/clean.shutdown" "${events[@]}" \
    --disable-hostport-mapping \
    >>"$dir/crio.log" 2>&1 &
  echo $! >"$dir/runtime.pid"
  for _ in $(seq 1 300); do
    [ -S "$dir/sock/crio.sock" ] && return 0
    if ! kill -0 "$(cat "$dir/runtime.pid")" 2>/dev/null; then
      log "crio exited; its log:"; tail -20 "$dir/crio.log" >&2; return 1
    fi
    sleep 0.1
  done
  log "crio did not listen"
  return 1
}

# An image archive (docker-archive, or an OCI archive as buildah exports it) into the runtime.
import_image() {
  local dir=$1 tar=$2
  if [ "$(cat "$dir/runtime")" = crio ]; then
    # The transport and the image names, from the archive's own index.
    local line transport name
    while read -r line; do
      transport=${line%% *}
      name=${line#* }
      skopeo copy --quiet --insecure-policy "$transport:$tar" \
        "containers-storage:[vfs@$dir/root+$dir/run]$name" >&2
    done < <(python3 - "$tar" <<'PY'
import json, sys, tarfile
t = tarfile.open(sys.argv[1])
files = {n.lstrip("./"): n for n in t.getnames()}
read = lambda n: json.load(t.extractfile(files[n]))
if "oci-layout" in files:
    for m in read("index.json")["manifests"]:
        print("oci-archive", m["annotations"]["org.opencontainers.image.ref.name"])
else:
    for tag in read("manifest.json")[0]["RepoTags"]:
        print("docker-archive", tag)
PY
    )
  else
    ctr -a "$dir/sock/containerd.sock" -n k8s.io images import "$tar" >/dev/null
  fi
}

stop_runtime() {
  local dir=$1
  if [ "$(cat "$dir/runtime" 2>/dev/null)" = crio ]; then
    local pid
    pid=$(cat "$dir/runtime.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  else
    stop_containerd "$dir"
  fi
}

start_runtime() {
  local dir=$1
  if [ "$(cat "$dir/runtime" 2>/dev/null)" = crio ]; then start_crio "$dir"; else start_containerd "$dir"; fi
}

up() {
  local dir=$1
  install_packages
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  # containerd 1.6 keeps shim sockets in /run/containerd/s whatever its state dir: remember
  # whether that directory is ours to remove.
  [ -e /run/containerd ] || touch "$dir/made-run-containerd"
  echo "$RUNTIME" >"$dir/runtime"
  # containerd 2.x first in PATH (start_containerd), so that it finds its own runc shim, and
  # gVisor's shim and runsc (the runsc handler).
  if [ "$RUNTIME" = containerd2 ]; then
    echo "$(bash "$root/scripts/build-containerd.sh"):$(bash "$root/scripts/build-gvisor.sh")" >"$dir/containerd.bin"
  fi
  write_config "$dir"
  make_host_dirs "$dir"
  build_image "$dir" "$dir/image.tar" plain "$IMAGE" "$PAUSE_IMAGE"
  build_image "$dir" "$dir/image-varrun.tar" varrun "$VARRUN_IMAGE"
  build_image "$dir" "$dir/image-groups.tar" groups "$GROUPS_IMAGE"
  local socket runc_root runc_bin
  runc_bin=$(command -v runc)
  if [ "$RUNTIME" = crio ]; then
    write_crio "$dir"
    start_crio "$dir"
    socket=$dir/sock/crio.sock
    runc_root=$dir/runc
  else
    start_containerd "$dir"
    socket=$dir/sock/containerd.sock
    # The runc shim keeps each containerd namespace's containers below the root it is given.
    runc_root=$dir/runc/k8s.io
    [ -f "$dir/runc.bin" ] && runc_bin=$(cat "$dir/runc.bin")
  fi
  local tar
  for tar in "$dir/image.tar" "$dir/image-varrun.tar" "$dir/image-groups.tar"; do import_image "$dir" "$tar"; done
  cat >"$dir/env" <<ENV
NSREPORT_LAB_DIR=$dir
NSREPORT_LAB_RUNTIME=$RUNTIME
NSREPORT_LAB_RUNC_ROOT=$runc_root
NSREPORT_LAB_RUNC=$runc_bin
NSREPORT_LAB_SOCKET=$socket
NSREPORT_LAB_IMAGE=$IMAGE
NSREPORT_LAB_VARRUN_IMAGE=$VARRUN_IMAGE
NSREPORT_LAB_GROUPS_IMAGE=$GROUPS_IMAGE
NSREPORT_LAB_HOST_DIR=$dir/host
NSREPORT_LAB_BRIDGE=$BRIDGE
ENV
  log "$RUNTIME ready at $socket"
}

down() {
  local dir=$1
  [ -d "$dir" ] || return 0
  dir=$(cd "$dir" && pwd)
  if [ "$(cat "$dir/runtime" 2>/dev/null)" = crio ]; then
    down_crio "$dir"
  elif [ -f "$dir/containerd.pid" ]; then
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

# CRI-O's containers go with it: runc kills them, then crio and every conmon of this lab (matched
# by the lab's paths on their command lines, never by name alone) stop.
down_crio() {
  local dir=$1 id p
  if [ -d "$dir/runc" ]; then
    for id in $(runc --root "$dir/runc" list -q 2>/dev/null); do
      runc --root "$dir/runc" kill "$id" KILL 2>/dev/null || true
    done
  fi
  [ -f "$dir/runtime.pid" ] && { kill -9 "$(cat "$dir/runtime.pid")" 2>/dev/null || true; }
  for p in $(pgrep -f -- "$dir/" || true); do kill -9 "$p" 2>/dev/null || true; done
  sleep 0.5
  if [ -d "$dir/runc" ]; then
    for id in $(runc --root "$dir/runc" list -q 2>/dev/null); do
      runc --root "$dir/runc" delete -f "$id" 2>/dev/null || true
    done
  fi
}

case "${1:-}" in
  install) install_packages ;;
  up) up "${2:?lab dir}" ;;
  down) down "${2:?lab dir}" ;;
  stop-runtime | stop-containerd) stop_runtime "$(cd "${2:?lab dir}" && pwd)" ;;
  start-runtime | start-containerd) start_runtime "$(cd "${2:?lab dir}" && pwd)" ;;
  import) import_image "$(cd "${2:?lab dir}" && pwd)" "${3:?image archive}" ;;
  *) echo "usage: lab.sh install|up DIR|down DIR|stop-runtime DIR|start-runtime DIR|import DIR TAR" >&2; exit 2 ;;
esac
