/**
 * The findings, by id (stable: extend, never renumber): what each is in one line, its severity
 * and the first step of its fix — the words `nsreport describe` puts beside a finding and
 * docs/reference.md lists. docs/findings.md says the rest (why it matters, references, how to
 * accept it); test/unit/describe.test.ts holds the two together, entry by entry. Each id's rule
 * is its entry of RULES in findings.ts.
 */
export const FINDING_IDS = [
  'NSR001',
  'NSR002',
  'NSR003',
  'NSR004',
  'NSR005',
  'NSR006',
  'NSR007',
  'NSR008',
  'NSR009',
  'NSR010',
  'NSR011',
  'NSR012',
  'NSR013',
  'NSR014',
  'NSR015',
  'NSR016',
] as const;

export type FindingId = (typeof FINDING_IDS)[number];

export function isFindingId(id: string): id is FindingId {
  return (FINDING_IDS as readonly string[]).includes(id);
}

export interface FindingEntry {
  /** The severity it is raised with, in docs/findings.md's words ("medium (low on loopback)"). */
  readonly severity: string;
  /** docs/findings.md's "in one line". */
  readonly summary: string;
  /** The start of its **Fix** paragraph. */
  readonly fix: string;
  /** Its section of docs/findings.md. */
  readonly anchor: string;
}

export const FINDING_CATALOGUE: Readonly<Record<FindingId, FindingEntry>> = {
  NSR001: {
    severity: 'high',
    summary: "the pod shares the host's network namespace",
    fix: 'drop `hostNetwork`; expose the port through a Service (a NodePort or a LoadBalancer).',
    anchor: 'nsr001-host-network',
  },
  NSR002: {
    severity: 'high',
    summary: "the pod shares the host's PID namespace",
    fix: "drop `hostPID`; use `shareProcessNamespace` to see the pod's own processes.",
    anchor: 'nsr002-host-pid',
  },
  NSR003: {
    severity: 'medium',
    summary: "the pod shares the host's IPC namespace",
    fix: 'drop `hostIPC`.',
    anchor: 'nsr003-host-ipc',
  },
  NSR004: {
    severity: 'high',
    summary: 'a mount propagates from the container to the host',
    fix: 'use `HostToContainer` unless the pod is a storage driver (CSI node plugin) that must publish mounts; accept it for those.',
    anchor: 'nsr004-bidirectional-mount',
  },
  NSR005: {
    severity: 'medium',
    summary: 'the kernel shows another propagation than the pod declares',
    fix: 'make the host source shared (`mount --make-rshared`, or the systemd default) for `HostToContainer`; look for what remounted the path.',
    anchor: 'nsr005-propagation-mismatch',
  },
  NSR006: {
    severity: 'low',
    summary: 'a Bidirectional mount whose host source is not shared',
    fix: "make the source's mount shared on the node.",
    anchor: 'nsr006-bidirectional-to-nowhere',
  },
  NSR007: {
    severity: 'critical / high / medium',
    summary: 'a host path that gives the container the node',
    fix: 'mount the one file or directory the workload needs, read-only;',
    anchor: 'nsr007-sensitive-host-path',
  },
  NSR008: {
    severity: 'medium (low on loopback)',
    summary: "a hostNetwork pod listens on the node's addresses",
    fix: 'bind to the address that needs it, or leave the host network (NSR001).',
    anchor: 'nsr008-listens-on-the-host',
  },
  NSR009: {
    severity: 'critical',
    summary: 'a privileged container',
    fix: 'add only the capabilities needed; device plugins instead of `/dev`.',
    anchor: 'nsr009-privileged',
  },
  NSR010: {
    severity: 'high',
    summary: 'a host namespace is shared although the pod did not ask for it',
    fix: "find what did it; the pod's spec cannot.",
    anchor: 'nsr010-undeclared-host-namespace',
  },
  NSR011: {
    severity: 'medium (low on loopback)',
    summary: 'a host port is mapped to the pod',
    fix: 'a Service (NodePort or LoadBalancer), or `hostIP: 127.0.0.1` when only the node needs it.',
    anchor: 'nsr011-host-port',
  },
  NSR012: {
    severity: 'low',
    summary: "a container runs as uid 0 in the host's user namespace",
    fix: '`runAsNonRoot: true` with a `runAsUser`, or `hostUsers: false`',
    anchor: 'nsr012-root-in-the-host-user-namespace',
  },
  NSR013: {
    severity: 'critical',
    summary: "a container's process lives in the host's or another pod's namespace",
    fix: "find out who started it (the container's image, an `exec` into it) and treat the node as compromised;",
    anchor: 'nsr013-escaped-process',
  },
  NSR014: {
    severity: 'high',
    summary: "the pod asks for its own user namespace and a container is in the host's",
    fix: "run the pod on a node whose runtime handler has `userNamespaces` in the Node's `status.runtimeHandlers`",
    anchor: 'nsr014-user-namespace-not-given',
  },
  NSR015: {
    severity: 'medium (high if recursiveReadOnly asked)',
    summary: 'a read-only volume has a writable mount below it',
    fix: '`recursiveReadOnly: Enabled` on the volume mount (or `IfPossible`),',
    anchor: 'nsr015-writable-below-a-read-only-volume',
  },
  NSR016: {
    severity: 'critical (root) / high',
    summary: "/proc unmasked in the host's user namespace",
    fix: '`procMount: Default`, or `hostUsers: false` with it',
    anchor: 'nsr016-unmasked-proc-in-the-hosts-user-namespace',
  },
};

/** The catalogue's entry of an id a report says (a newer agent's may be unknown here). */
export function findingEntry(id: string): FindingEntry | undefined {
  return isFindingId(id) ? FINDING_CATALOGUE[id] : undefined;
}
