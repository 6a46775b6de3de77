import type { GroupIds, PortMapping } from './types.js';

/**
 * Pure mappers for the verbose `info` of ContainerStatus. Both containerd and CRI-O put one JSON
 * document under the key "info":
 * - containerd (1.6–2.x): `{sandboxID, pid, config: <ContainerConfig as JSON>, runtimeSpec, …}`;
 *   privileged is `config.linux.security_context.privileged`.
 * - CRI-O: `{sandboxID, pid, runtimeSpec, privileged}` (server/container_status.go).
 * Anything else falls back to the OCI runtime spec to tell privileged containers apart.
 */

export interface VerboseContainerInfo {
  /** Host PID of the container's init process; 0 when absent or not a positive integer. */
  readonly pid: number;
  readonly sandboxId: string | null;
  /** null when neither the runtime's own field nor the runtime spec says. */
  readonly privileged: boolean | null;
  /** `runtimeSpec.process.user.uid`; null when absent. */
  readonly uid: number | null;
  /** `runtimeSpec.linux.rootfsPropagation`; null when unset. */
  readonly rootfsPropagation: string | null;
  /** The groups the container config asks for (containerd's `config`); null: not said. */
  readonly declaredGroups: GroupIds | null;
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function at(v: unknown, ...path: string[]): unknown {
  let cur = v;
  for (const key of path) {
    if (!isObject(cur)) return undefined;
    cur = cur[key];
  }
  return cur;
}

/**
 * A privileged OCI spec (what both runtimes generate for `privileged: true`) keeps
 * CAP_SYS_ADMIN in the bounding set and masks no paths.
 */
function privilegedFromSpec(spec: unknown): boolean | null {
  const bounding = at(spec, 'process', 'capabilities', 'bounding');
  if (!Array.isArray(bounding)) return null;
  const masked = at(spec, 'linux', 'maskedPaths');
  const noMasks = !Array.isArray(masked) || masked.length === 0;
  return bounding.includes('CAP_SYS_ADMIN') && noMasks;
}

function parsePid(v: unknown): number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v > 0 ? v : 0;
}

function parseUid(v: unknown): number | null {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : null;
}

function infoDocument(info: Readonly<Record<string, string>> | undefined): unknown {
  const raw = info?.info;
  try {
    return raw === undefined ? undefined : JSON.parse(raw);
  } catch {
    return undefined;
  }
}

const NO_INFO: VerboseContainerInfo = {
  pid: 0,
  sandboxId: null,
  privileged: null,
  uid: null,
  rootfsPropagation: null,
  declaredGroups: null,
};

/** A group ID as JSON carries it (int64 may come as a string); null for anything else. */
function groupId(v: unknown): number | null {
  const n = typeof v === 'string' && /^\d{1,10}$/.test(v) ? Number(v) : v;
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 && n <= 0xffffffff ? n : null;
}

/** At most this many groups are kept (the kernel's NGROUPS_MAX is 65536). */
const MAX_GROUPS = 64;

/** A list of group IDs from hostile JSON: numbers kept, sorted and deduplicated, capped. */
function groupList(v: unknown): number[] {
  if (!Array.isArray(v)) return [];
  const ids = new Set<number>();
  for (const x of v.slice(0, 65536)) {
    const id = groupId(x);
    if (id !== null) ids.add(id);
  }
  return [...ids].sort((a, b) => a - b).slice(0, MAX_GROUPS);
}

/**
 * containerd's verbose `config` is the CRI ContainerConfig as Go's encoding/json writes it
 * (snake_case): `linux.security_context.run_as_group.value` and `supplemental_groups`
 * (containerd internal/cri/server/container_status.go, v1.6–v2.2; the kubelet puts fsGroup
 * among the supplemental groups).
 */
function declaredGroupsOf(doc: Json): GroupIds | null {
  const sc = at(doc, 'config', 'linux', 'security_context');
  if (!isObject(sc)) return null;
  // Go's omitempty writes runAsGroup: 0 as `run_as_group: {}`.
  const group = sc.run_as_group;
  return {
    gid: isObject(group) ? groupId(group.value ?? 0) : null,
    supplementary: groupList(sc.supplemental_groups),
  };
}

/** Parses the verbose info map of ContainerStatus. Malformed JSON yields pid 0, never a throw. */
export function parseContainerInfo(info: Readonly<Record<string, string>>): VerboseContainerInfo {
  const doc = infoDocument(info);
  if (!isObject(doc)) return NO_INFO;
  const fromContainerd = at(doc, 'config', 'linux', 'security_context', 'privileged');
  const fromCrio = doc.privileged;
  let privileged: boolean | null;
  if (typeof fromContainerd === 'boolean') privileged = fromContainerd;
  else if (typeof fromCrio === 'boolean') privileged = fromCrio;
  else if (isObject(at(doc, 'config', 'linux', 'security_context'))) privileged = false;
  else privileged = privilegedFromSpec(doc.runtimeSpec);
  const sandboxId = typeof doc.sandboxID === 'string' ? doc.sandboxID : null;
  const propagation = at(doc.runtimeSpec, 'linux', 'rootfsPropagation');
  return {
    pid: parsePid(doc.pid),
    sandboxId,
    privileged,
    uid: parseUid(at(doc.runtimeSpec, 'process', 'user', 'uid')),
    rootfsPropagation: typeof propagation === 'string' && propagation !== '' ? propagation : null,
    declaredGroups: declaredGroupsOf(doc),
  };
}

const PROTOCOLS = ['TCP', 'UDP', 'SCTP'] as const;

function protocolOf(v: unknown): PortMapping['protocol'] | null {
  if (v === undefined || v === null || v === 0) return 'TCP';
  if (typeof v === 'number') return PROTOCOLS[v] ?? null;
  if (typeof v === 'string') {
    const p = v.toUpperCase();
    return (PROTOCOLS as readonly string[]).includes(p) ? (p as PortMapping['protocol']) : null;
  }
  return null;
}

function port(v: unknown): number {
  return typeof v === 'number' && Number.isInteger(v) && v > 0 && v < 65536 ? v : 0;
}

/** One port of v1.ContainerPort JSON (camelCase; snake_case of the CRI PortMapping also read). */
function mapping(v: unknown, container?: string): PortMapping | null {
  if (!isObject(v)) return null;
  const protocol = protocolOf(v.protocol);
  const hostPort = port(v.host_port ?? v.hostPort);
  if (protocol === null || hostPort === 0) return null;
  const hostIp = v.host_ip ?? v.hostIP ?? v.hostIp;
  return {
    protocol,
    containerPort: port(v.container_port ?? v.containerPort),
    hostPort,
    hostIp: typeof hostIp === 'string' ? hostIp : '',
    ...(container !== undefined ? { container } : {}),
  };
}

/**
 * The kubelet writes a container's `ports` as JSON (v1.ContainerPort: hostPort, containerPort,
 * protocol, hostIP) into the container annotation `io.kubernetes.container.ports`
 * (pkg/kubelet/kuberuntime/labels.go): the runtime-independent source of host ports, and the one
 * that names the container. A runtime's verbose PodSandboxStatus also has the sandbox config's
 * `port_mappings` (containerd), but asking for it costs ~12 KB of JSON per sandbox and doubled
 * the cold scan; every kubelet-made pod has the annotation. Malformed JSON: none.
 */
export function parseContainerPorts(
  annotations: Readonly<Record<string, string>> | undefined,
  container: string,
): PortMapping[] {
  const raw = annotations?.['io.kubernetes.container.ports'];
  if (raw === undefined) return [];
  let list: unknown;
  try {
    list = JSON.parse(raw);
  } catch {
    return [];
  }
  if (!Array.isArray(list)) return [];
  return list.map((m) => mapping(m, container)).filter((m): m is PortMapping => m !== null);
}

/** What the verbose PodSandboxStatus says of the pod's own processes and namespaces. */
export interface VerboseSandboxInfo {
  /** Host PID of the infra (pause) process; 0 when there is none (CRI-O drops it by default). */
  readonly pid: number;
  /** The network namespace's path as the runtime spec names it (pinned by the runtime). */
  readonly netnsPath: string | null;
  /** containerd's shim type for the sandbox (`io.containerd.runc.v2`, `io.containerd.runsc.v1`). */
  readonly runtimeType?: string;
}

/**
 * Parses the verbose info map of PodSandboxStatus: one JSON document under "info" — containerd
 * (1.6–2.x, pkg/cri/server/sandbox_status.go SandboxInfo): `{pid, runtimeSpec, …}`, the network
 * namespace pinned at `/var/run/netns/cni-…`; CRI-O (v1.34 server/sandbox_status.go
 * createSandboxInfo): `{image, pid, runtimeSpec}`, or only `{runtimeSpec}` when the infra
 * container is spoofed (`drop_infra_ctr`: no infra process, the namespaces pinned by pinns under
 * its namespaces dir). Malformed input yields nothing, never a throw.
 */
export function parseSandboxInfo(
  info: Readonly<Record<string, string>> | undefined,
): VerboseSandboxInfo {
  const doc = infoDocument(info);
  const namespaces = at(doc, 'runtimeSpec', 'linux', 'namespaces');
  const net = Array.isArray(namespaces)
    ? (namespaces as unknown[]).find((n) => at(n, 'type') === 'network')
    : undefined;
  const path = at(net, 'path');
  const runtimeType = at(doc, 'runtimeType');
  return {
    pid: parsePid(at(doc, 'pid')),
    netnsPath: typeof path === 'string' && path.startsWith('/') && path.length < 4096 ? path : null,
    ...(typeof runtimeType === 'string' ? { runtimeType: runtimeType.slice(0, 253) } : {}),
  };
}
