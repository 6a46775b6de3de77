import type { DeclaredMount, DeclaredPropagation, SandboxSummary } from '../cri/types.js';
import {
  mountAt,
  mountContaining,
  propagationOf,
  type MountInfo,
  type ObservedPropagation,
} from '../procfs/mountinfo.js';
import { NAMESPACE_TYPES, type NamespaceSet, type NamespaceType } from '../procfs/namespaces.js';
import type { NetworkInterface } from '../procfs/reader.js';
import type { ReadResult } from '../procfs/result.js';
import { effectiveHost, findingsFor } from './findings.js';
import type {
  ContainerInspection,
  ContainerSample,
  HostReference,
  Listener,
  MountObservation,
  NamespaceObservation,
  PodInspection,
  SandboxSample,
  Snapshot,
  Tristate,
} from './types.js';

/** What a declared propagation looks like in the container's mountinfo when honoured. */
const EXPECTED: Record<DeclaredPropagation, readonly ObservedPropagation[]> = {
  None: ['private'],
  HostToContainer: ['slave'],
  Bidirectional: ['shared', 'shared+slave'],
};

function observeNamespaces(
  ns: ReadResult<NamespaceSet> | null,
  host: ReadResult<NamespaceSet>,
): Partial<Record<NamespaceType, NamespaceObservation>> {
  const out: Partial<Record<NamespaceType, NamespaceObservation>> = {};
  if (!ns?.ok) return out;
  for (const type of NAMESPACE_TYPES) {
    const inode = ns.value[type];
    if (inode === undefined) continue;
    const hostInode = host.ok ? host.value[type] : undefined;
    const sharedWithHost: Tristate =
      hostInode === undefined ? 'unknown' : inode === hostInode ? 'true' : 'false';
    out[type] = { inode, sharedWithHost };
  }
  return out;
}

/** Observed propagation of one declared mount, and of its source on the host. */
export function observeMount(
  declared: DeclaredMount,
  container: ReadResult<MountInfo[]> | null,
  host: ReadResult<MountInfo[]>,
  resolved: string = declared.containerPath,
): MountObservation {
  let observed: MountObservation['observedPropagation'] = 'unknown';
  if (container?.ok) {
    const m = mountAt(container.value, resolved);
    observed = m ? propagationOf(m) : 'absent';
  }
  const hostMount = host.ok ? mountContaining(host.value, declared.hostPath) : undefined;
  const consistent =
    observed === 'unknown' ||
    EXPECTED[declared.propagation].includes(observed as ObservedPropagation);
  return {
    destination: declared.containerPath,
    source: declared.hostPath,
    readOnly: declared.readOnly,
    declaredPropagation: declared.propagation,
    observedPropagation: observed,
    hostPropagation: hostMount ? propagationOf(hostMount) : 'unknown',
    consistent,
  };
}

function describeFailure(r: ReadResult<unknown> | null, what: string): string | undefined {
  if (r === null || r.ok) return undefined;
  return `${what}: ${r.reason} (${r.detail})`;
}

function inspectContainer(c: ContainerSample, host: HostReference): ContainerInspection {
  const detail = c.detail;
  const errors = [
    c.error ?? undefined,
    describeFailure(c.namespaces, 'namespaces'),
    describeFailure(c.mountinfo, 'mountinfo'),
  ].filter((e): e is string => e !== undefined);
  return {
    name: c.summary.name,
    id: c.summary.id,
    image: detail?.image ?? c.summary.image,
    pid: detail?.pid ?? 0,
    state: c.summary.state,
    privileged: detail?.privileged ?? false,
    namespaces: observeNamespaces(c.namespaces, host.namespaces),
    mounts: (detail?.mounts ?? []).map((m) =>
      observeMount(m, c.mountinfo, host.mountinfo, c.resolved?.get(m.containerPath)),
    ),
    ...(errors.length > 0 ? { error: errors.join('; ') } : {}),
  };
}

/** Pod-level sharing: 'true' if any container shares the host's namespace of that type. */
function podShares(containers: readonly ContainerInspection[], type: NamespaceType): Tristate {
  const seen = containers.map((c) => c.namespaces[type]?.sharedWithHost ?? 'unknown');
  if (seen.includes('true')) return 'true';
  return seen.includes('false') ? 'false' : 'unknown';
}

/** Interfaces worth reporting: those with an address other than IPv6 link-local. */
function addressed(ifaces: readonly NetworkInterface[]): NetworkInterface[] {
  return ifaces.filter((i) => i.ipv4.length > 0 || i.ipv6.some((a) => !/^fe[89ab]/i.test(a)));
}

/** Code-unit order: deterministic on every machine, unlike localeCompare, and cheaper. */
function byKey(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Containers by name, then id: a restarted container leaves an exited and a running container of
 * the same name, which runtimes list in no fixed order (containerd ranges over a Go map).
 */
function byNameThenId(a: ContainerInspection, b: ContainerInspection): number {
  return byKey(a.name, b.name) || byKey(a.id, b.id);
}

/** Declared modes when the sandbox's status could not be read: unknown, never guessed. */
const UNKNOWN_DECLARED = { network: 'UNKNOWN', pid: 'UNKNOWN', ipc: 'UNKNOWN' } as const;

function podKey(p: PodInspection): string {
  return `${p.pod.namespace}/${p.pod.name}`;
}

/** Turns one sandbox's samples into the pod's inspection (pure). */
export function inspectPod(s: SandboxSample, snap: Snapshot): PodInspection {
  const containers = s.containers.map((c) => inspectContainer(c, snap.host)).sort(byNameThenId);
  const declared = s.detail?.declared ?? UNKNOWN_DECLARED;
  const hostNamespaces = {
    network: podShares(containers, 'net'),
    pid: podShares(containers, 'pid'),
    ipc: podShares(containers, 'ipc'),
  };
  const netns = containers.find((c) => c.namespaces.net)?.namespaces.net?.inode ?? null;
  const observed = netns === null ? undefined : snap.networks.get(netns);
  const hostNet = effectiveHost(hostNamespaces.network, declared.network);
  const ids = new Set(containers.map((c) => c.id));
  // In the host's netns, only the sockets this pod's processes hold are this pod's listeners:
  // by container id, since two hostNetwork pods may each have a container called `server`.
  const listeners: Listener[] = (observed?.listeners ?? []).filter((l) =>
    hostNet ? ids.has(l.containerId) : true,
  );
  const podWithoutFindings = {
    node: snap.node,
    pod: s.summary.pod,
    static: s.summary.static,
    runtime: { name: snap.runtime.name, version: snap.runtime.version },
    sandbox: { id: s.summary.id, state: s.summary.state },
    hostNamespaces,
    declared,
    network: { netns, interfaces: addressed(observed?.interfaces ?? []), listeners },
    containers,
    findings: [],
    ...(s.error !== null ? { error: s.error } : {}),
  } satisfies PodInspection;
  return { ...podWithoutFindings, findings: findingsFor(podWithoutFindings) };
}

/** Ready before not ready, then newer, then the larger id: the same answer in any list order. */
function outranks(a: SandboxSummary, b: SandboxSummary): boolean {
  const ready = Number(a.state === 'ready') - Number(b.state === 'ready');
  if (ready !== 0) return ready > 0;
  if (a.createdAt !== b.createdAt) return a.createdAt > b.createdAt;
  return a.id > b.id;
}

/**
 * The sandbox that stands for each pod: a pod may have an old sandbox beside its current one
 * (after a sandbox restart); the ready one wins, then the newest.
 */
export function currentSandboxes(sandboxes: readonly SandboxSample[]): SandboxSample[] {
  const best = new Map<string, SandboxSample>();
  for (const s of sandboxes) {
    const key = `${s.summary.pod.namespace}/${s.summary.pod.name}`;
    const other = best.get(key);
    if (!other || outranks(s.summary, other.summary)) best.set(key, s);
  }
  return [...best.values()];
}

/** One inspection per pod of the snapshot, sorted by namespace and name. */
export function inspect(snap: Snapshot): PodInspection[] {
  return currentSandboxes(snap.sandboxes)
    .map((s) => inspectPod(s, snap))
    .sort((a, b) => byKey(podKey(a), podKey(b)));
}
