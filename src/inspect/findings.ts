import { isOwnKubeletVolume } from './kubelet-paths.js';
import { sensitivity } from './sensitive.js';
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
import { FINDING_IDS, type FindingId } from './catalogue.js';

// Findings NSR001–NSR016: the ids and their words are the catalogue's (catalogue.ts); each rule
// here is a small pure function of the pod's inspection, one per id (RULES). docs/findings.md
// says what each means and how to fix it.

/** The table of host paths NSR007 weighs is its own file; tests and callers read it here too. */
export { sensitivity } from './sensitive.js';

/** What a rule finds: its findings, the id given by the entry of RULES it is. */
type Found = Omit<Finding, 'id'>;
type Rule = (pod: PodInspection) => Found[];

/** 127.0.0.0/8, ::1, and IPv4-mapped loopback (::ffff:127.x.y.z): reachable from the node only. */
export function isLoopback(address: string): boolean {
  return /^(127\.|::1$|::ffff:127\.)/i.test(address);
}

/** hostNetwork/hostPID/hostIPC as observed, or as declared when the kernel could not tell. */
export function effectiveHost(observed: Tristate, declared: NamespaceMode): boolean {
  return observed === 'true' || (observed === 'unknown' && declared === 'NODE');
}

function hostNamespaceRule(
  type: 'network' | 'pid' | 'ipc',
  severity: Finding['severity'],
  what: string,
): Rule {
  return (pod) =>
    effectiveHost(pod.hostNamespaces[type], pod.declared[type])
      ? [
          {
            severity,
            message: `pod shares the host's ${what} namespace (host${what === 'network' ? 'Network' : what.toUpperCase()})`,
          },
        ]
      : [];
}

function perMount(
  fn: (c: ContainerInspection, m: MountObservation, pod: PodInspection) => Found | null,
): Rule {
  return (pod) =>
    pod.containers.flatMap((c) =>
      c.mounts.map((m) => fn(c, m, pod)).filter((f): f is Found => f !== null),
    );
}

/** Whether the pod shares any host namespace (then `hostUsers: false` is not allowed). */
function sharesHost(pod: PodInspection): boolean {
  return (['network', 'pid', 'ipc'] as const).some((t) =>
    effectiveHost(pod.hostNamespaces[t], pod.declared[t]),
  );
}

/**
 * NSR011: a port mapping with a host port (`hostPort`), which the CNI portmap plugin opens on
 * the node. Not for hostNetwork pods: there the mapping does nothing and NSR008 reports what the
 * container really listens on. low when bound to a loopback host address.
 */
const hostPortRule: Rule = (pod) =>
  effectiveHost(pod.hostNamespaces.network, pod.declared.network)
    ? []
    : pod.network.hostPorts.map((m) => {
        const at =
          m.hostIp === '' ? '0.0.0.0' : m.hostIp.includes(':') ? `[${m.hostIp}]` : m.hostIp;
        return {
          severity: isLoopback(m.hostIp) ? ('low' as const) : ('medium' as const),
          ...(m.container !== undefined && m.container !== '' ? { container: m.container } : {}),
          message: `host port ${m.protocol.toLowerCase()} ${at}:${m.hostPort} is mapped to the pod's port ${m.containerPort}`,
        };
      });

/**
 * Whether the container's root is the host's: decided from the kernel's mapping (its uid_map)
 * when read, else from the user namespace being the host's.
 */
function rootIsHostRoot(c: ContainerInspection): boolean {
  if (c.rootHostUid !== undefined && c.rootHostUid !== null) return c.rootHostUid === 0;
  return c.namespaces.user?.sharedWithHost === 'true';
}

/**
 * NSR014: the pod asked for a user namespace of its own (`hostUsers: false`, CRI
 * `userns_options` mode POD) and a container of it is in the host's. high: whoever wrote the pod
 * counts on its root being an unprivileged host uid, and it is the node's root.
 */
const usernsNotGivenRule: Rule = (pod) =>
  pod.declared.user !== 'POD'
    ? []
    : pod.containers
        .filter((c) => c.namespaces.user !== undefined && rootIsHostRoot(c))
        .map((c) => ({
          severity: 'high' as const,
          container: c.name,
          message:
            "the pod asks for a user namespace of its own (hostUsers: false) but the container is in the host's",
        }));

/**
 * NSR015: a read-only volume with a writable mount below it: the pod can write where its spec
 * says read-only (`recursiveReadOnly` not asked for, or not given). medium; high when the pod
 * asked for recursive read-only and the runtime did not make it so.
 */
const writableBelowReadOnlyRule: Rule = (pod) =>
  pod.containers.flatMap((c) =>
    c.mounts
      .filter((m) => (m.writableSubmounts?.length ?? 0) > 0)
      .map((m) => ({
        severity: m.recursiveReadOnly ? ('high' as const) : ('medium' as const),
        container: c.name,
        message: `${m.destination}: read-only${m.recursiveReadOnly ? ' (recursiveReadOnly asked for)' : ''} but writable below it: ${(m.writableSubmounts ?? []).slice(0, 8).join(', ')}`,
        // Accepted by host path like NSR007 (node-exporter's read-only / has every mount below).
        mount: { source: m.source, readOnly: m.readOnly },
      })),
  );

/**
 * NSR016: a container whose /proc is unmasked (`procMount: Unmasked`) in the host's user
 * namespace: /proc/sys, /proc/sysrq-trigger and /proc/kcore are the node's, not fenced. critical
 * for a container running as root (it may write kernel.core_pattern: a command the node runs as
 * root), high otherwise.
 * Not for a privileged container (NSR009 says more) nor one with a user namespace of its own,
 * where the kernel fences /proc by its owner (the intended use of Unmasked, KEP-4265).
 */
const unmaskedProcRule: Rule = (pod) =>
  pod.containers
    .filter(
      (c) =>
        !c.privileged &&
        c.procMount === 'Unmasked' &&
        c.namespaces.user !== undefined &&
        rootIsHostRoot(c),
    )
    .map((c) => ({
      severity: c.uid === 0 ? ('critical' as const) : ('high' as const),
      container: c.name,
      message: `/proc is unmasked (procMount: Unmasked) in the host's user namespace: /proc/sys and /proc/sysrq-trigger are the node's${c.uid === 0 ? ', writable by its root' : ''}`,
    }));

/**
 * NSR012: a container running as uid 0 in the host's user namespace, in a pod that could have
 * used `hostUsers: false` (no host namespace, no privileged container). low: root in a container
 * is still fenced by namespaces, capabilities and seccomp, but any escape (a runtime or kernel
 * bug, a writable host path) lands as the node's root, where a user namespace would land as an
 * unprivileged uid.
 */
const hostRootRule: Rule = (pod) =>
  sharesHost(pod) || pod.containers.some((c) => c.privileged)
    ? []
    : pod.containers
        .filter((c) => c.uid === 0 && rootIsHostRoot(c))
        .map((c) => ({
          severity: 'low' as const,
          container: c.name,
          message:
            "runs as root (uid 0) in the host's user namespace (hostUsers: false would map it to an unprivileged host uid)",
        }));

/**
 * NSR007's severity for one mount of a pod: its host path's sensitivity, none for the pod's own
 * kubelet volumes. The rule and the audit's "sensitive mounts" column both ask this.
 */
export function mountSensitivity(
  m: { readonly source?: string; readonly readOnly?: boolean },
  podUid: string,
): Finding['severity'] | null {
  // A report says the pod's own kubelet volumes by name, without a source, and readOnly only
  // when true.
  if (m.source === undefined || isOwnKubeletVolume(m.source, podUid)) return null;
  return sensitivity(m.source, m.readOnly === true);
}

/**
 * NSR013: a process of a container (by its cgroup) in the host's or another pod's namespace,
 * where its container is not: a privileged container's `nsenter` into the node, unseen by
 * anything that reads only the container's init. critical: it has left every fence its pod
 * declares. One finding per process and place, its namespace types listed.
 */
const escapedRule: Rule = (pod) =>
  pod.containers.flatMap((c) => {
    const byPlace = new Map<string, { pid: number; comm: string; into: string; types: string[] }>();
    for (const e of c.escaped ?? []) {
      const k = `${e.pid}\u0000${e.into}`;
      const entry = byPlace.get(k) ?? { pid: e.pid, comm: e.comm, into: e.into, types: [] };
      entry.types.push(e.namespace);
      byPlace.set(k, entry);
    }
    return [...byPlace.values()].map((e) => ({
      severity: 'critical' as const,
      container: c.name,
      message: `process ${e.pid} (${e.comm.slice(0, 64)}) is in ${e.into === 'host' ? "the host's" : `pod ${e.into}'s`} ${e.types.join(', ')} namespace${e.types.length > 1 ? 's' : ''}, not its container's`,
    }));
  });

const RULES: Readonly<Record<FindingId, Rule>> = {
  NSR001: hostNamespaceRule('network', 'high', 'network'),
  NSR002: hostNamespaceRule('pid', 'high', 'pid'),
  NSR003: hostNamespaceRule('ipc', 'medium', 'ipc'),
  NSR004: perMount((c, m) =>
    m.declaredPropagation === 'Bidirectional'
      ? {
          severity: 'high',
          container: c.name,
          message: `${m.destination}: Bidirectional propagation: mounts made in the container appear on the host (${m.source})`,
        }
      : null,
  ),
  NSR005: perMount((c, m) =>
    m.consistent
      ? null
      : {
          severity: 'medium',
          container: c.name,
          message: `${m.destination}: declared ${m.declaredPropagation} but the kernel shows ${m.observedPropagation}`,
        },
  ),
  NSR006: perMount((c, m) =>
    m.declaredPropagation === 'Bidirectional' &&
    m.hostPropagation !== 'unknown' &&
    !m.hostPropagation.startsWith('shared')
      ? {
          severity: 'low',
          container: c.name,
          message: `${m.destination}: Bidirectional but the host source ${m.source} is ${m.hostPropagation}: nothing propagates`,
        }
      : null,
  ),
  NSR007: perMount((c, m, pod) => {
    const severity = mountSensitivity(m, pod.pod.uid);
    return severity
      ? {
          severity,
          container: c.name,
          message: `${m.destination}: sensitive host path ${m.source}${m.readOnly ? ' (read-only)' : ''}`,
          mount: { source: m.source, readOnly: m.readOnly },
        }
      : null;
  }),
  NSR008: (pod) =>
    effectiveHost(pod.hostNamespaces.network, pod.declared.network)
      ? pod.network.listeners.map((l) => ({
          severity: isLoopback(l.address) ? ('low' as const) : ('medium' as const),
          ...(l.container !== '' ? { container: l.container } : {}),
          message: `listens on the host at ${l.protocol} ${l.address.includes(':') ? `[${l.address}]` : l.address}:${l.port}`,
        }))
      : [],
  NSR009: (pod) =>
    pod.containers
      .filter((c) => c.privileged)
      .map((c) => ({
        severity: 'critical' as const,
        container: c.name,
        message: 'privileged container: all capabilities and host devices',
      })),
  NSR010: (pod) =>
    (['network', 'pid', 'ipc'] as const)
      .filter(
        (t) =>
          pod.hostNamespaces[t] === 'true' &&
          pod.declared[t] !== 'NODE' &&
          pod.declared[t] !== 'UNKNOWN',
      )
      .map((t) => ({
        severity: 'high' as const,
        message: `shares the host's ${t} namespace although the pod declares ${pod.declared[t]}`,
      })),
  NSR011: hostPortRule,
  NSR012: hostRootRule,
  NSR013: escapedRule,
  NSR014: usernsNotGivenRule,
  NSR015: writableBelowReadOnlyRule,
  NSR016: unmaskedProcRule,
};

function compareFindings(a: Finding, b: Finding): number {
  const ka = `${a.id}\u0000${a.container ?? ''}\u0000${a.message}`;
  const kb = `${b.id}\u0000${b.container ?? ''}\u0000${b.message}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/** All findings of a pod, sorted by id, container and message; duplicates dropped. */
export function findingsFor(pod: PodInspection): Finding[] {
  const all = FINDING_IDS.flatMap((id) => RULES[id](pod).map((f) => ({ id, ...f }))).sort(
    compareFindings,
  );
  return all.filter((f, i) => i === 0 || compareFindings(all[i - 1] as Finding, f) !== 0);
}

/** The highest severity among findings ('none' without findings). */
export function highestSeverity(findings: readonly Pick<Finding, 'severity'>[]): Severity {
  let best = 0;
  for (const f of findings) best = Math.max(best, SEVERITY_ORDER.indexOf(f.severity));
  return SEVERITY_ORDER[best] ?? 'none';
}
