#!/usr/bin/env bash
# Captures what a kubelet-made node really gives pods that ask for user namespaces, recursive
# read-only mounts, an unmasked /proc and supplementary groups (test/fixtures/isolation). Needs a
# node from `cluster.sh up DIR kubelet` + `node.sh up DIR` (any NSREPORT_NODE_RUNTIME), and
# `npm run build` (dist/test/isolation/cri-dump.js). Makes its pods in the namespace iso and a
# hostPath dir with a tmpfs below it, and removes them at the end.
#
#   capture.sh DIR OUT [POD...]   (default: every pod below)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
dir=$(cd "${1:?cluster dir}" && pwd)
out=${2:?output dir}
shift 2
pods=("$@")
[ ${#pods[@]} -gt 0 ] || pods=(plain userns rro-enabled rro-off unmasked groups groups-strict debrunc-userns)
log() { printf 'capture: %s\n' "$*" >&2; }
cache=${NSREPORT_CACHE:-/var/cache/nsreport}
crictl_bin=$cache/crictl-${CRICTL_VERSION:-v1.37.0}/crictl
[ -x "$crictl_bin" ] || GOBIN=$(dirname "$crictl_bin") GOFLAGS=-mod=mod GOWORK=off \
  go install "sigs.k8s.io/cri-tools/cmd/crictl@${CRICTL_VERSION:-v1.37.0}"
proto=$(cd /tmp && GOWORK=off go mod download -json k8s.io/cri-api@v0.35.4 |
  sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')/pkg/apis/runtime/v1/api.proto
bin=$(cat "$dir/bin")
socket=$(sed -n 's/^NSREPORT_NODE_SOCKET=//p' "$dir/env")
# kubectl's discovery cache stays in the cluster dir, not ~/.kube/cache.
export KUBECACHEDIR=$dir/kube-cache
k() { "$bin/kubectl" --kubeconfig "$dir/admin.kubeconfig" "$@"; }
# An empty crictl config: flags only, and no warning that /etc/crictl.yaml is missing.
: >"$dir/crictl.yaml"
crictl() { "$crictl_bin" --config "$dir/crictl.yaml" -r "unix://$socket" -i "unix://$socket" "$@"; }
dump() { node "$root/dist/test/isolation/cri-dump.js" "$socket" "$proto" "$@"; }

host=$(mktemp -d /tmp/nsreport-iso.XXXXXX)
cleanup() {
  set +e
  k delete namespace iso --wait=true --timeout=120s >/dev/null 2>&1
  umount "$host/host/sub" 2>/dev/null
  rm -rf "$host"
}
trap cleanup EXIT
# host/ and a tmpfs below it, both 0755 and root's: who may write shows through the mappings.
mkdir -p "$host/host/sub"
mount -t tmpfs -o mode=0755,size=1m nsreport-iso "$host/host/sub"
echo host >"$host/host/file"
echo sub >"$host/host/sub/file"

pod() { # name extra-spec container-extra [image]
  cat <<YAML
---
apiVersion: v1
kind: Pod
metadata: {name: $1, namespace: iso}
spec:
  terminationGracePeriodSeconds: 1
$2
  containers:
  - name: c
    image: ${4:-nsreport.test/busybox:1}
    imagePullPolicy: Never
    command: [sleep, infinity]
$3
YAML
}
hostvol="  volumes:
  - {name: host, hostPath: {path: $host/host, type: Directory}}"
manifest() {
  case $1 in
  plain) pod plain "" "" ;;
  userns) pod userns "  hostUsers: false
  volumes:
  - {name: scratch, emptyDir: {}}
  - {name: host, hostPath: {path: $host/host, type: Directory}}" "    volumeMounts:
    - {name: scratch, mountPath: /scratch}
    - {name: host, mountPath: /h}" ;;
  rro-enabled) pod rro-enabled "$hostvol" "    volumeMounts:
    - {name: host, mountPath: /h, readOnly: true, recursiveReadOnly: Enabled}" ;;
  rro-off) pod rro-off "$hostvol" "    volumeMounts:
    - {name: host, mountPath: /h, readOnly: true}" ;;
  unmasked) pod unmasked "  hostUsers: false" "    securityContext: {procMount: Unmasked}" ;;
  groups | groups-strict)
    local policy=""
    [ "$1" = groups-strict ] && policy=", supplementalGroupsPolicy: Strict"
    pod "$1" "  securityContext: {runAsUser: 1000, runAsGroup: 1000, supplementalGroups: [3000], fsGroup: 4000$policy}
  volumes:
  - {name: scratch, emptyDir: {}}" "    volumeMounts:
    - {name: scratch, mountPath: /scratch}" nsreport.test/busybox-groups:1 ;;
  debrunc-userns) pod debrunc-userns "  runtimeClassName: debrunc
  hostUsers: false" "" ;;
  *) log "unknown pod $1"; return 1 ;;
  esac
}

mkdir -p "$out"
out=$(cd "$out" && pwd)
k create namespace iso >/dev/null
for _ in $(seq 1 100); do k -n iso get serviceaccount default >/dev/null 2>&1 && break; sleep 0.2; done
for p in "${pods[@]}"; do manifest "$p"; done >"$out/pods.yaml"
sed -i "s|$host|<tmp>|g" "$out/pods.yaml"
for p in "${pods[@]}"; do manifest "$p"; done | k apply -f - >/dev/null
log "pods ${pods[*]} applied; waiting until each runs or has a warning"

# Settled: Running, or a Warning event (a refusal; not the kubelet's MissingClusterDNS, which
# every pod has here).
settled() {
  local phase warn
  phase=$(k -n iso get pod "$1" -o jsonpath='{.status.phase}' 2>/dev/null)
  [ "$phase" = Running ] && return 0
  warn=$(k -n iso get events -o name \
    --field-selector "involvedObject.name=$1,type=Warning,reason!=MissingClusterDNS" 2>/dev/null)
  [ -n "$warn" ]
}
# A pod that does not run is given 20 s at least (a warning may be passing), then written as it is.
t0=$SECONDS
for _ in $(seq 1 120); do
  left=() running=0
  for p in "${pods[@]}"; do
    settled "$p" || left+=("$p")
    [ "$(k -n iso get pod "$p" -o jsonpath='{.status.phase}')" = Running ] && running=$((running + 1))
  done
  if [ ${#left[@]} -eq 0 ] && { [ "$running" = ${#pods[@]} ] || [ $((SECONDS - t0)) -ge 20 ]; }; then break; fi
  sleep 1
done

crictl info >"$out/crictl-info.json"
dump status "$out/cri-status.raw.json"
k get node -o json >"$out/node.json"
cat /proc/self/uid_map >"$out/host-uid_map"
lab=$(sed -n 's/^NSREPORT_NODE_LAB_DIR=//p' "$dir/env")
runc=$(sed -n 's/^NSREPORT_NODE_LAB_RUNC=//p' "$dir/env")
{
  echo "uname -r: $(uname -r)"
  echo "kubelet: $("$bin/kubelet" --version)"
  [ -f "$lab/config.toml" ] && echo "containerd: $(PATH="$(cat "$lab/containerd.bin" 2>/dev/null || true):$PATH" containerd --version)"
  echo "runc (${runc:=$(command -v runc)}): $("$runc" --version | head -1)"
  [ "$runc" = "$(command -v runc)" ] || echo "debrunc ($(command -v runc)): $(runc --version | head -1)"
  echo "crictl version:"
  crictl version
} >"$out/versions.txt"

for p in "${pods[@]}"; do
  d=$out/$p
  mkdir -p "$d"
  k -n iso get pod "$p" -o json >"$d/pod.json"
  k -n iso get events --field-selector "involvedObject.name=$p" -o json >"$d/events.json"
  sb=$(crictl pods --namespace iso --name "^$p\$" --state ready -q | head -1)
  if [ -z "$sb" ]; then
    log "$p: no ready sandbox ($(k -n iso get pod "$p" -o jsonpath='{.status.phase}'))"
    continue
  fi
  crictl inspectp -o json "$sb" >"$d/sandbox.inspectp.json"
  dump sandbox "$sb" "$d/sandbox"
  ctr=$(crictl ps --pod "$sb" --state running -q | head -1)
  if [ -z "$ctr" ]; then
    log "$p: sandbox $sb but no running container"
    continue
  fi
  crictl inspect -o json "$ctr" >"$d/container.inspect.json"
  dump container "$ctr" "$d/container"
  pid=$(jq -r .info.pid "$d/container.inspect.json")
  pause=$(jq -r .info.pid "$d/sandbox.inspectp.json")
  for f in uid_map gid_map status mountinfo; do cat "/proc/$pid/$f" >"$d/$f"; done
  findmnt -N "$pid" -o TARGET,VFS-OPTIONS,FS-OPTIONS,PROPAGATION >"$d/findmnt.txt"
  {
    echo "container pid $pid, pause pid $pause"
    for n in user mnt pid; do
      echo "$n: container $(readlink "/proc/$pid/ns/$n") pause $(readlink "/proc/$pause/ns/$n") host $(readlink "/proc/$$/ns/$n")"
    done
  } >"$d/ns.txt"
  # Inside the container: who it is, what it may write (probe-<pod>, left for host-files.txt),
  # how the host's files look, and whether a masked /proc file reads.
  # shellcheck disable=SC2016 # the script is the container's shell's to expand, not this one's
  crictl exec "$ctr" sh -c '
    exec 2>&1
    echo "$ id"; id
    echo "$ grep -E ^(Uid|Gid|Groups) /proc/self/status"; grep -E "^(Uid|Gid|Groups)" /proc/self/status
    for d in /h /h/sub /scratch; do
      [ -d $d ] || continue
      echo "$ ls -lna $d"; ls -lna $d
      echo "$ touch $d/probe-$1"; touch $d/probe-$1 && ls -ln $d/probe-$1
    done
    echo "$ head -c 40 /proc/timer_list"; head -c 40 /proc/timer_list; echo "(exit $?)"
    echo "$ head -c 40 /proc/sys/kernel/hostname"; head -c 40 /proc/sys/kernel/hostname
    echo "$ echo x >/proc/sys/kernel/hostname"; echo x >/proc/sys/kernel/hostname; echo "(exit $?)"
  ' sh "$p" >"$d/exec.txt" || true
  log "$p: pid $pid uid_map $(tr -s ' ' <"$d/uid_map")"
done
# The host's side of what the containers wrote.
(cd "$host" && ls -lnR host) >"$out/host-files.txt"
log "written to $out"
