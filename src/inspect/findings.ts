import type { NamespaceMode } from '../cri/types.js';
import type {
  ContainerInspection,
  Finding,
  Tristate,
  MountObservation,
  PodInspection,
  Severity,
} from './types.js';
import { SEVERITY_ORDER } from './types.js';

/**
 * Findings NSR001–NSR010 (stable ids: extend, never renumber). Each rule is a small pure
 * function of the pod's inspection.
 */

/** Runtime sockets: access to one is control of every container on the node. */
const RUNTIME_SOCKET_NAMES =
  /(^|\/)(containerd\.sock|crio\.sock|docker\.sock|cri-dockerd\.sock|dockershim\.sock|podman\.sock)$/;
/** Host paths that expose the node when mounted (exact), and trees below which everything does. */
const SENSITIVE_EXACT = new Set([
  '/',
  '/etc',
  '/proc',
  '/sys',
  '/dev',
  '/root',
  '/home',
  '/boot',
  '/run',
  '/var',
  '/var/run',
  '/var/lib',
  '/var/log',
  '/usr',
  '/lib',
  '/var/lib/kubelet',
  '/var/lib/containerd',
  '/var/lib/docker',
  '/var/lib/etcd',
  '/etc/kubernetes',
]);
const SENSITIVE_TREES = [
  '/proc/',
  '/sys/',
  '/var/lib/kubelet/',
  '/etc/kubernetes/',
  '/root/',
  '/var/lib/etcd/',
];

type Rule = (pod: PodInspection) => Finding[];

/** 127.0.0.0/8, ::1, and IPv4-mapped loopback (::ffff:127.x.y.z): reachable from the node only. */
export function isLoopback(address: string): boolean {
  return /^(127\.|::1$|::ffff:127\.)/i.test(address);
}

/** hostNetwork/hostPID/hostIPC as observed, or as declared when the kernel could not tell. */
export function effectiveHost(observed: Tristate, declared: NamespaceMode): boolean {
  return observed === 'true' || (observed === 'unknown' && declared === 'NODE');
}

function normalise(path: string): string {
  const p = path.replace(/\/+/g, '/');
  return p.length > 1 ? p.replace(/\/$/, '') : p;
}

/** Severity of mounting `hostPath` into a container, or null when it is not sensitive. */
export function sensitivity(hostPath: string, readOnly: boolean): Finding['severity'] | null {
  const p = normalise(hostPath);
  if (RUNTIME_SOCKET_NAMES.test(p)) return 'critical';
  if (p === '/') return 'critical';
  if (SENSITIVE_EXACT.has(p) || SENSITIVE_TREES.some((t) => p.startsWith(t))) {
    return readOnly ? 'medium' : 'high';
  }
  return null;
}

function hostNamespaceRule(
  id: string,
  type: 'network' | 'pid' | 'ipc',
  severity: Finding['severity'],
  what: string,
): Rule {
  return (pod) =>
    effectiveHost(pod.hostNamespaces[type], pod.declared[type])
      ? [
          {
            id,
            severity,
            message: `pod shares the host's ${what} namespace (host${what === 'network' ? 'Network' : what.toUpperCase()})`,
          },
        ]
      : [];
}

function perMount(
  fn: (c: ContainerInspection, m: MountObservation, pod: PodInspection) => Finding | null,
): Rule {
  return (pod) =>
    pod.containers.flatMap((c) =>
      c.mounts.map((m) => fn(c, m, pod)).filter((f): f is Finding => f !== null),
    );
}

/**
 * A volume the kubelet made for this very pod: `<kubelet root>/pods/<pod uid>/…` (etc-hosts,
 * the termination log under containers/, emptyDir, configMap, secret, projected token; layout
 * of pkg/kubelet/kubelet_getters.go). The kubelet root varies (k3s, custom --root-dir), so it is
 * not assumed: any directory followed by `pods/<this pod's uid>/` is the pod's own.
 */
export function isOwnKubeletVolume(source: string, podUid: string): boolean {
  if (!/^[0-9A-Za-z-]+$/.test(podUid)) return false;
  const at = normalise(source).indexOf(`/pods/${podUid}/`);
  return at > 0;
}

const RULES: readonly Rule[] = [
  hostNamespaceRule('NSR001', 'network', 'high', 'network'),
  hostNamespaceRule('NSR002', 'pid', 'high', 'pid'),
  hostNamespaceRule('NSR003', 'ipc', 'medium', 'ipc'),
  perMount((c, m) =>
    m.declaredPropagation === 'Bidirectional'
      ? {
          id: 'NSR004',
          severity: 'high',
          container: c.name,
          message: `${m.destination}: Bidirectional propagation: mounts made in the container appear on the host (${m.source})`,
        }
      : null,
  ),
  perMount((c, m) =>
    m.consistent
      ? null
      : {
          id: 'NSR005',
          severity: 'medium',
          container: c.name,
          message: `${m.destination}: declared ${m.declaredPropagation} but the kernel shows ${m.observedPropagation}`,
        },
  ),
  perMount((c, m) =>
    m.declaredPropagation === 'Bidirectional' &&
    m.hostPropagation !== 'unknown' &&
    !m.hostPropagation.startsWith('shared')
      ? {
          id: 'NSR006',
          severity: 'low',
          container: c.name,
          message: `${m.destination}: Bidirectional but the host source ${m.source} is ${m.hostPropagation}: nothing propagates`,
        }
      : null,
  ),
  perMount((c, m, pod) => {
    if (isOwnKubeletVolume(m.source, pod.pod.uid)) return null;
    const severity = sensitivity(m.source, m.readOnly);
    return severity
      ? {
          id: 'NSR007',
          severity,
          container: c.name,
          message: `${m.destination}: sensitive host path ${m.source}${m.readOnly ? ' (read-only)' : ''}`,
        }
      : null;
  }),
  (pod) =>
    effectiveHost(pod.hostNamespaces.network, pod.declared.network)
      ? pod.network.listeners.map((l) => ({
          id: 'NSR008',
          severity: isLoopback(l.address) ? ('low' as const) : ('medium' as const),
          ...(l.container !== '' ? { container: l.container } : {}),
          message: `listens on the host at ${l.protocol} ${l.address.includes(':') ? `[${l.address}]` : l.address}:${l.port}`,
        }))
      : [],
  (pod) =>
    pod.containers
      .filter((c) => c.privileged)
      .map((c) => ({
        id: 'NSR009',
        severity: 'critical' as const,
        container: c.name,
        message: 'privileged container: all capabilities and host devices',
      })),
  (pod) =>
    (['network', 'pid', 'ipc'] as const)
      .filter(
        (t) =>
          pod.hostNamespaces[t] === 'true' &&
          pod.declared[t] !== 'NODE' &&
          pod.declared[t] !== 'UNKNOWN',
      )
      .map((t) => ({
        id: 'NSR010',
        severity: 'high' as const,
        message: `shares the host's ${t} namespace although the pod declares ${pod.declared[t]}`,
      })),
];

function compareFindings(a: Finding, b: Finding): number {
  const ka = `${a.id}\u0000${a.container ?? ''}\u0000${a.message}`;
  const kb = `${b.id}\u0000${b.container ?? ''}\u0000${b.message}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/** All findings of a pod, sorted by id, container and message; duplicates dropped. */
export function findingsFor(pod: PodInspection): Finding[] {
  const all = RULES.flatMap((rule) => rule(pod)).sort(compareFindings);
  return all.filter((f, i) => i === 0 || compareFindings(all[i - 1] as Finding, f) !== 0);
}

/** The highest severity among findings ('none' without findings). */
export function highestSeverity(findings: readonly Pick<Finding, 'severity'>[]): Severity {
  let best = 0;
  for (const f of findings) best = Math.max(best, SEVERITY_ORDER.indexOf(f.severity));
  return SEVERITY_ORDER[best] ?? 'none';
}
