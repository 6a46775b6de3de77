import type {
  DeclaredMount,
  DeclaredPropagation,
  PortMapping,
  SandboxSummary,
} from '../cri/types.js';
import {
  mountAt,
  mountContaining,
  propagationOf,
  type MountInfo,
  type ObservedPropagation,
} from '../procfs/mountinfo.js';
import { NAMESPACE_TYPES, type NamespaceSet, type NamespaceType } from '../procfs/namespaces.js';
import type { NetworkInterface } from '../procfs/net.js';
import type { ReadResult } from '../procfs/result.js';
import { escapedProcesses, namespaceOwners } from './escapes.js';
import {
  idmappedAt,
  observeGroups,
  observeProcMount,
  observeUserNamespace,
  rootHostUid,
  writableSubmounts,
} from './isolation.js';
import { applyAcceptance, type AcceptPolicy, NO_ACCEPTANCE } from './accept.js';
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

/**
 * What the container's other mounts show once its root is remounted shared. containerd and CRI-O
 * set `rootfsPropagation: rshared` when a container has a Bidirectional mount (containerd
 * pkg/cri/opts/spec_linux.go WithMounts; CRI-O server/container_create_linux.go), and runc
 * (≥ 1.4) applies it to the container's root after its mounts: a private (None) mount becomes
 * `shared`, a slave (HostToContainer) one `shared+slave`. runc 1.1 leaves them as declared.
 */
const UNDER_SHARED_ROOT: Record<DeclaredPropagation, readonly ObservedPropagation[]> = {
  None: ['shared'],
  HostToContainer: ['shared+slave'],
  Bidirectional: [],
};

function sharedRoot(rootfsPropagation: string | null | undefined): boolean {
  return rootfsPropagation === 'rshared' || rootfsPropagation === 'shared';
}

/** Where the container's mount table puts the declared destination, and its spec's root. */
export interface MountContext {
  /** The destination resolved in the container's root (symlinks); default: as declared. */
  readonly resolved?: string | undefined;
  readonly rootfsPropagation?: string | null | undefined;
  /** Every declared destination of the container, as resolved (its own sub-mounts). */
  readonly declaredDestinations?: readonly string[];
}

function observedAt(
  container: ReadResult<MountInfo[]> | null,
  path: string,
): MountObservation['observedPropagation'] {
  if (!container?.ok) return 'unknown';
  const m = mountAt(container.value, path);
  return m ? propagationOf(m) : 'absent';
}

/** Observed propagation of one declared mount, and of its source on the host. */
export function observeMount(
  declared: DeclaredMount,
  container: ReadResult<MountInfo[]> | null,
  host: ReadResult<MountInfo[]>,
  ctx: MountContext = {},
): MountObservation {
  const at = ctx.resolved ?? declared.containerPath;
  const observed = observedAt(container, at);
  const hostMount = host.ok ? mountContaining(host.value, declared.hostPath) : undefined;
  const shown = observed as ObservedPropagation;
  const asDeclared = observed === 'unknown' || EXPECTED[declared.propagation].includes(shown);
  const explained =
    !asDeclared &&
    sharedRoot(ctx.rootfsPropagation) &&
    UNDER_SHARED_ROOT[declared.propagation].includes(shown);
  return {
    destination: declared.containerPath,
    source: declared.hostPath,
    readOnly: declared.readOnly,
    declaredPropagation: declared.propagation,
    observedPropagation: observed,
    hostPropagation: hostMount ? propagationOf(hostMount) : 'unknown',
    consistent: asDeclared || explained,
    ...(explained ? { explained: 'rootfs-rshared' as const } : {}),
    ...mountIsolation(declared, container, at, ctx),
  };
}

/** Idmapped, recursively read-only as asked, and what is writable below a read-only mount. */
function mountIsolation(
  declared: DeclaredMount,
  container: ReadResult<MountInfo[]> | null,
  at: string,
  ctx: MountContext,
): Pick<MountObservation, 'idmapped' | 'recursiveReadOnly' | 'writableSubmounts'> {
  const writable = declared.readOnly
    ? writableSubmounts(container, at, ctx.declaredDestinations ?? [])
    : [];
  return {
    ...(idmappedAt(container, at) ? { idmapped: true as const } : {}),
    ...(declared.recursiveReadOnly ? { recursiveReadOnly: true as const } : {}),
    ...(writable.length > 0 ? { writableSubmounts: writable } : {}),
  };
}

function describeFailure(r: ReadResult<unknown> | null, what: string): string | undefined {
  if (r === null || r.ok) return undefined;
  return `${what}: ${r.reason} (${r.detail})`;
}

/** What the runtime spec says of the process, when it says it. */
function specFields(
  detail: ContainerSample['detail'],
): Pick<ContainerInspection, 'uid' | 'rootfsPropagation'> {
  return {
    ...(detail?.uid != null ? { uid: detail.uid } : {}),
    ...(detail?.rootfsPropagation ? { rootfsPropagation: detail.rootfsPropagation } : {}),
  };
}

/** What a container is inspected against: the host, its pod, every pod's namespaces. */
interface ContainerContext {
  readonly host: HostReference;
  /** `namespace/name` of its pod. */
  readonly pod: string;
  /** namespaceOwners of the snapshot. */
  readonly owners: ReadonlyMap<string, string>;
}

/** The image, and whether it is the runtime's name for it rather than the user's words. */
function imageOf(c: ContainerSample): Pick<ContainerInspection, 'image' | 'imageFromRuntime'> {
  const image = c.detail?.image ?? c.summary.image;
  return c.detail?.imageAsWritten === true ? { image } : { image, imageFromRuntime: true };
}

function escapedOf(
  c: ContainerSample,
  ctx: ContainerContext,
): Pick<ContainerInspection, 'escaped'> {
  const escaped = escapedProcesses(c, ctx.pod, ctx.host.namespaces, ctx.owners);
  return escaped.length > 0 ? { escaped } : {};
}

/** A container's declared mounts as the kernel shows them. */
function mountsOf(c: ContainerSample, host: HostReference): MountObservation[] {
  const mounts = c.detail?.mounts ?? [];
  const destinations = mounts.map((m) => c.resolved?.get(m.containerPath) ?? m.containerPath);
  return mounts.map((m) =>
    observeMount(m, c.mountinfo, host.mountinfo, {
      resolved: c.resolved?.get(m.containerPath),
      rootfsPropagation: c.detail?.rootfsPropagation,
      declaredDestinations: destinations,
    }),
  );
}

/** What could not be read of a container. */
function failuresOf(c: ContainerSample): string[] {
  return [
    c.error ?? undefined,
    describeFailure(c.namespaces, 'namespaces'),
    describeFailure(c.mountinfo, 'mountinfo'),
    describeFailure(c.identity ?? null, 'identity'),
  ].filter((e): e is string => e !== undefined);
}

/** User namespace, /proc and groups of a running container (isolation.ts). */
function isolationOf(
  c: ContainerSample,
  userShared: Tristate | undefined,
): Pick<
  ContainerInspection,
  'userNamespace' | 'rootHostUid' | 'procMount' | 'groups' | 'sandboxed'
> {
  if (c.sandboxed) return { sandboxed: true };
  if (c.mountinfo === null) return {};
  const userns = userShared === 'false' ? observeUserNamespace(c.identity) : undefined;
  const groups = observeGroups(c.identity, c.detail?.declaredGroups);
  return {
    ...(userns ? { userNamespace: userns } : {}),
    rootHostUid: rootHostUid(userShared, userns),
    procMount: observeProcMount(c.mountinfo),
    ...(groups ? { groups } : {}),
  };
}

function inspectContainer(c: ContainerSample, ctx: ContainerContext): ContainerInspection {
  const { host } = ctx;
  const detail = c.detail;
  const namespaces = observeNamespaces(c.namespaces, host.namespaces);
  const errors = failuresOf(c);
  return {
    name: c.summary.name,
    id: c.summary.id,
    ...imageOf(c),
    // A PID is the container's only while it runs (CRI-O keeps an exited container's old one).
    pid: c.summary.state === 'running' ? (detail?.pid ?? 0) : 0,
    state: c.summary.state,
    privileged: detail?.privileged ?? false,
    ...specFields(detail),
    namespaces,
    mounts: mountsOf(c, host),
    ...escapedOf(c, ctx),
    ...isolationOf(c, namespaces.user?.sharedWithHost),
    ...(errors.length > 0 ? { error: errors.join('; ') } : {}),
  };
}

/**
 * Pod-level sharing: 'true' if any container shares the host's namespace of that type; with no
 * container to tell, what the pod's own namespace says (`fallback`).
 */
function podShares(
  containers: readonly ContainerInspection[],
  type: NamespaceType,
  fallback: Tristate = 'unknown',
): Tristate {
  const seen = containers.map((c) => c.namespaces[type]?.sharedWithHost ?? 'unknown');
  if (seen.includes('true')) return 'true';
  return seen.includes('false') ? 'false' : fallback;
}

/** Whether the pod's own network namespace (infra or pinned: no container runs) is the host's. */
function podNetShared(s: SandboxSample, host: HostReference): Tristate {
  if (!s.network || !host.namespaces.ok || host.namespaces.value.net === undefined)
    return 'unknown';
  return s.network.inode === host.namespaces.value.net ? 'true' : 'false';
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

function mappingKey(m: PortMapping): string {
  return `${m.protocol}/${m.hostIp}/${m.hostPort}`;
}

/**
 * The pod's host ports, as its containers declare them (the kubelet's container annotation).
 * Sorted, one entry per protocol, host address and port.
 */
function hostPorts(s: SandboxSample): PortMapping[] {
  const seen = new Map<string, PortMapping>();
  for (const c of s.containers)
    for (const m of c.detail?.hostPorts ?? []) seen.set(mappingKey(m), m);
  return [...seen.values()].sort(
    (a, b) => a.hostPort - b.hostPort || byKey(a.protocol, b.protocol) || byKey(a.hostIp, b.hostIp),
  );
}

function podNetwork(
  s: SandboxSample,
  snap: Snapshot,
  containers: readonly ContainerInspection[],
  hostNet: boolean,
): PodInspection['network'] {
  const netns =
    containers.find((c) => c.namespaces.net)?.namespaces.net?.inode ?? s.network?.inode ?? null;
  const observed = netns === null ? undefined : snap.networks.get(netns);
  const ids = new Set(containers.map((c) => c.id));
  // In the host's netns, only the sockets this pod's processes hold are this pod's listeners:
  // by container id, since two hostNetwork pods may each have a container called `server`.
  const listeners: Listener[] = (observed?.listeners ?? []).filter((l) =>
    hostNet ? ids.has(l.containerId) : true,
  );
  return {
    netns,
    interfaces: addressed(observed?.interfaces ?? []),
    listeners,
    hostPorts: hostPorts(s),
  };
}

/** Turns one sandbox's samples into the pod's inspection (pure). */
export function inspectPod(
  s: SandboxSample,
  snap: Snapshot,
  policy: AcceptPolicy = NO_ACCEPTANCE,
  owners: ReadonlyMap<string, string> = namespaceOwners(snap.sandboxes),
): PodInspection {
  const ctx = { host: snap.host, pod: `${s.summary.pod.namespace}/${s.summary.pod.name}`, owners };
  const containers = s.containers.map((c) => inspectContainer(c, ctx)).sort(byNameThenId);
  const declared = s.detail?.declared ?? UNKNOWN_DECLARED;
  const hostNamespaces = {
    network: podShares(containers, 'net', podNetShared(s, snap.host)),
    pid: podShares(containers, 'pid'),
    ipc: podShares(containers, 'ipc'),
  };
  const hostNet = effectiveHost(hostNamespaces.network, declared.network);
  const podWithoutFindings = {
    node: snap.node,
    pod: s.summary.pod,
    static: s.summary.static,
    runtime: { name: snap.runtime.name, version: snap.runtime.version },
    sandbox: {
      id: s.summary.id,
      state: s.summary.state,
      ...(s.summary.runtimeHandler ? { runtimeHandler: s.summary.runtimeHandler } : {}),
    },
    hostNamespaces,
    declared,
    network: podNetwork(s, snap, containers, hostNet),
    labels: s.summary.labels,
    annotations: s.summary.annotations,
    containers,
    findings: [],
    ...(s.error !== null ? { error: s.error } : {}),
  } satisfies PodInspection;
  const { findings, warnings } = applyAcceptance(
    podWithoutFindings,
    findingsFor(podWithoutFindings),
    policy,
  );
  return { ...podWithoutFindings, findings, ...(warnings.length > 0 ? { warnings } : {}) };
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
export function inspect(snap: Snapshot, policy: AcceptPolicy = NO_ACCEPTANCE): PodInspection[] {
  const owners = namespaceOwners(snap.sandboxes);
  return currentSandboxes(snap.sandboxes)
    .map((s) => inspectPod(s, snap, policy, owners))
    .sort((a, b) => byKey(podKey(a), podKey(b)));
}
