import { fileURLToPath } from 'node:url';

/**
 * What the end-to-end runs hand to the tests and benchmarks, read in one place: test/lab/lab.sh's
 * env file (the lab's containerd), test/cluster/cluster.sh's (the control plane) and
 * test/e2e/run.sh's own. Unset is '' (a test that needs it fails on its first use, with a path).
 */
const env = (name: string, fallback = ''): string => process.env[name] ?? fallback;

/** The repository (tests run from dist/test/). */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export const LAB = {
  /** The lab containerd's CRI socket. */
  socket: env('NSREPORT_LAB_SOCKET'),
  /** The lab's directory (its pods.json). */
  dir: env('NSREPORT_LAB_DIR'),
  /** The image the lab's pods run. */
  image: env('NSREPORT_LAB_IMAGE'),
  /** Where the lab's pods find their host paths (kubelet-shaped pod directories). */
  hostDir: env('NSREPORT_LAB_HOST_DIR'),
} as const;

/** The second lab (its own containerd, for the events suite). */
export const LAB2 = {
  dir: env('NSREPORT_LAB2_DIR'),
  containerdBin: env('NSREPORT_CONTAINERD2_BIN'),
} as const;

export const CLUSTER = {
  dir: env('NSREPORT_CLUSTER_DIR'),
  kubeconfig: env('NSREPORT_CLUSTER_KUBECONFIG'),
} as const;

/** The Node object the lab's pods are bound to. */
export const NODE = env('NSREPORT_E2E_NODE', 'nsr-e2e-node');
export const HELM = env('NSREPORT_HELM', 'helm');
/** The upstream CRDs (OpenReports, Prometheus Operator) scripts/fetch-crds.sh fetched. */
export const UPSTREAM_CRDS = env('NSREPORT_UPSTREAM_CRDS');

/** The kubelet-made node of the second phase (test/cluster/node.sh). */
export const KUBELET_NODE = {
  name: env('NSREPORT_NODE_NAME'),
  socket: env('NSREPORT_NODE_SOCKET'),
  /** The image built from the Dockerfile, as an archive (and its .config.json, .files). */
  imageTar: env('NSREPORT_IMAGE_TAR'),
  busyboxImage: env('NSREPORT_NODE_LAB_IMAGE'),
  varrunImage: env('NSREPORT_NODE_LAB_VARRUN_IMAGE'),
  /** busybox whose /etc/group puts uid 1000 in group 2000. */
  groupsImage: env('NSREPORT_NODE_LAB_GROUPS_IMAGE'),
  /** The kubelet's PID: in the host namespaces, and readable (PID 1 is not, on these machines). */
  kubeletPid: env('NSREPORT_NODE_KUBELET_PID'),
  /** The kubelet's static pod directory. */
  manifests: env('NSREPORT_NODE_MANIFESTS'),
  /** The node's lab directory (its runtime's state; test/lab/lab.sh stop-runtime etc.). */
  labDir: env('NSREPORT_NODE_LAB_DIR'),
  /** containerd or crio. */
  runtime: env('NSREPORT_NODE_LAB_RUNTIME'),
  /** The root of the runc the runtime runs, for the PID oracle (`runc list`). */
  runcRoot: env('NSREPORT_NODE_LAB_RUNC_ROOT'),
} as const;
