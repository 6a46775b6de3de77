#!/usr/bin/env bash
# npm run bench (root): starts the test control plane and the containerd lab, grows the lab to
# 10/50/100 pods for bench/scan.ts (scan cost vs the manual method), then runs the agent against
# the 100 pods for bench/agent.ts (API writes, change-to-report latency, memory), bench/forgery.ts
# (how long a forged report stays forged), the agent rows again on CRI-O (pod events off, on),
# bench/audit.ts (the audit at 10,000 and 150,000 reports) and bench/scale.ts (what 0 to 5,000
# agents cost an API server, on a control plane of its own). crictl and the control plane are
# built once from the Go module proxy and cached outside the repo.
# The churn part (BENCH_PARTS=churn, not in the default set: ~10 min) runs pod lifecycles under the
# agent and measures restore latency.
#   BENCH_PARTS=scan,agent,forgery,crio,audit,scale  BENCH_SIZES=10,50,100  BENCH_QUIET_SECONDS=60
#   BENCH_RESYNC_MS=30000  BENCH_FORGERIES=20
#   BENCH_CHURN_CYCLES=1000  BENCH_CHURN_BATCH=10  BENCH_RESTORES=5
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
cluster=$(mktemp -d /tmp/nsreport-bench-cluster.XXXXXX)
scale_cluster=$(mktemp -d /tmp/nsreport-bench-scale.XXXXXX)
teardown() {
  set +e
  # shellcheck source=/dev/null # written at run time
  [ -f "$lab/env" ] && (set -a; . "$lab/env"; set +a; node dist/test/lab/cli.js delete)
  bash test/lab/lab.sh down "$lab"
  bash test/cluster/cluster.sh down "$cluster"
  bash test/cluster/cluster.sh down "$scale_cluster"
}
trap teardown EXIT
bash test/cluster/cluster.sh up "$cluster"
bash test/lab/lab.sh up "$lab"
set -a
# shellcheck source=/dev/null # written at run time
. "$lab/env"
# shellcheck source=/dev/null # written at run time
. "$cluster/env"
set +a
parts=",${BENCH_PARTS:-scan,agent,forgery,crio,audit,scale},"
# The agent runs as shipped: the image's Node major, the flags of its entrypoint and the chart's
# NODE_OPTIONS.
node_image=$(bash scripts/node24.sh)
image_node_flags=$(sed -n 's/^ENTRYPOINT \["[^"]*node", \(.*\), "[^"]*main.js"\]$/\1/p' Dockerfile | tr -d '",')
chart_node_options=$(sed -n 's/^nodeOptions: "\(.*\)"$/\1/p' charts/nsreport/values.yaml)
export BENCH_RESULTS=$lab/results.jsonl
report=$lab/report.md
: >"$BENCH_RESULTS"
{
if [[ $parts == *,scan,* ]]; then
  node dist/bench/scan.js "$cache/crictl"
else
  node dist/test/lab/cli.js create --filler 93 --kubeconfig "$NSREPORT_CLUSTER_KUBECONFIG" \
    --node nsr-bench-node >&2
fi
# Real reports of two lab pods for the audit and scale parts, taken now: the CRI-O part removes
# the containerd lab's pods. filler-000 has a plain pod's kubelet volumes; bidir is privileged.
for pod in filler-000 bidir; do
  node dist/src/cli/main.js scan -o json --cri-endpoint "$NSREPORT_LAB_SOCKET" \
    --host-pid $$ --pod "nsr-lab/$pod" | node -e \
    'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.stringify(JSON.parse(s).items[0])))' \
    >"$lab/template-$pod.json"
done
if [[ $parts == *,agent,* ]]; then
echo
echo "| agent | pods | resync | API writes/min, 100 unchanged pods | pod change → report written | CPU per resync, first minute after start | main thread wakeups/s at rest | RSS median at rest (peak) |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
label="containerd $(containerd --version | awk '{print $3}') (polling)"
BENCH_RECORD=1 BENCH_AGENT_NODE_FLAGS="$image_node_flags" BENCH_AGENT_NODE_OPTIONS="$chart_node_options" \
  "$node_image" dist/bench/agent.js "$label"
BENCH_AGENT_NODE_OPTIONS="$chart_node_options" "$node_image" dist/bench/agent.js "$label"
BENCH_AGENT_NODE_OPTIONS="$chart_node_options" node dist/bench/agent.js "$label"
echo
echo "| reports | plain pod (kubelet volumes), median | min / median / p99 / max, as stored | 150,000 pods |"
echo "|---:|---:|---:|---:|"
node dist/bench/size.js
fi
if [[ $parts == *,forgery,* ]]; then
echo
node dist/bench/forgery.js
fi
if [[ $parts == *,crio,* ]]; then
# The agent rows again on CRI-O 1.34 (scripts/build-crio.sh), with pod events off (its default)
# and on, at the same number of pods: the containerd lab's pods and reports go first.
# (The scan part grows the lab without a pods.json: the runtime says how many there are.)
pods=$("$cache/crictl" --runtime-endpoint "unix://$NSREPORT_LAB_SOCKET" pods -q | wc -l)
# No kubelet confirms a Pod's end here: the Pods go at once, then their namespace.
drop_lab_pods() {
  kubectl --kubeconfig "$NSREPORT_CLUSTER_KUBECONFIG" delete pods -n nsr-lab --all \
    --grace-period=0 --force >/dev/null 2>&1 || true
  kubectl --kubeconfig "$NSREPORT_CLUSTER_KUBECONFIG" delete namespace nsr-lab --wait=true >/dev/null
}
node dist/test/lab/cli.js delete >/dev/null
drop_lab_pods
echo
echo "| agent | pods | resync | API writes/min, $pods unchanged pods | pod change → report written | CPU per resync, first minute after start | main thread wakeups/s at rest | RSS median at rest (peak) |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
for events in 0 1; do
  crio_lab=$(mktemp -d /tmp/nsreport-bench-crio.XXXXXX)
  NSREPORT_LAB_RUNTIME=crio NSREPORT_LAB_CRIO_POD_EVENTS=$events NSREPORT_LAB_BRIDGE=nsrlab6 \
    NSREPORT_LAB_SUBNET=10.88.96.0/24 bash test/lab/lab.sh up "$crio_lab" >&2
  (
    set -a
    # shellcheck source=/dev/null # written at run time
    . "$crio_lab/env"
    set +a
    node dist/test/lab/cli.js create --filler "$((pods - 7))" \
      --kubeconfig "$NSREPORT_CLUSTER_KUBECONFIG" --node nsr-bench-node >&2
    label="CRI-O $("$(bash scripts/build-crio.sh)/crio" --version | awk 'NR==1 {print $3}') (pod events $([ "$events" = 1 ] && echo on || echo off))"
    BENCH_AGENT_NODE_FLAGS="$image_node_flags" BENCH_AGENT_NODE_OPTIONS="$chart_node_options" \
      "$node_image" dist/bench/agent.js "$label"
    node dist/test/lab/cli.js delete >/dev/null
  )
  drop_lab_pods
  bash test/lab/lab.sh down "$crio_lab"
done
fi
if [[ $parts == *,churn,* ]]; then
echo
echo "| pod lifecycles | alive at once | time | API writes | write errors / conflicts | agent RSS, first → last 100 | reports |"
echo "|---:|---:|---:|---:|---:|---:|---|"
node dist/bench/churn.js
echo
echo "Targets: no report left or missing; writes per lifecycle bounded; RSS flat; restore ≤ 2 s median."
fi
if [[ $parts == *,audit,* ]]; then
echo
echo "| reports | audit output | time | peak RSS |"
echo "|---:|---|---:|---:|"
node dist/bench/audit.js "$lab/template-filler-000.json" "$lab/template-bidir.json"
fi
if [[ $parts == *,scale,* ]]; then
# N simulated agents on a control plane of their own (this one goes first: one at a time here),
# writing the report of a lab pod with kubelet volumes.
bash test/cluster/cluster.sh down "$cluster" >&2
bash test/cluster/cluster.sh up "$scale_cluster" >&2
echo
echo "| agents | reports | rollout: every watch open | API server CPU, rollout | API server memory, rollout peak | API server CPU at rest | API server memory at rest | writes in ${BENCH_SCALE_SECONDS:-30} s | API server CPU per write | write → watch event, median / p99 | events not seen in 10 s | API server CPU: a node's list | the ping | a list of limit=1 |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
# shellcheck source=/dev/null # written at run time
(set -a; . "$scale_cluster/env"; set +a; NSREPORT_HELM=$(bash scripts/build-helm.sh) node dist/bench/scale.js "$lab/template-filler-000.json")
fi
echo
echo "Footprint targets:"
echo
node dist/bench/targets.js
} | tee "$report"
# A run of every default part is the project's published figures.
if [ -z "${BENCH_PARTS:-}" ]; then
  {
    echo "# Benchmarks"
    echo
    echo "Written by \`npm run bench\` on $(date -u +%Y-%m-%d): $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), kernel $(uname -r), Node $(node --version) (bench) and $("$node_image" --version) (agent, the image's)."
    echo
    cat "$report"
  } >docs/benchmarks.md
  npx prettier --write docs/benchmarks.md >/dev/null
  echo "bench: wrote docs/benchmarks.md" >&2
fi
