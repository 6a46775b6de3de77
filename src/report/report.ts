import { createHash } from 'node:crypto';
import { unaccepted } from '../inspect/accept.js';
import { effectiveHost, highestSeverity } from '../inspect/findings.js';
import { groupsWorthSaying } from '../inspect/isolation.js';
import { kubeletVolume } from '../inspect/kubelet-paths.js';
import type {
  ContainerInspection,
  MountObservation,
  NamespaceObservation,
  PodInspection,
} from '../inspect/types.js';
import type { NamespaceType } from '../procfs/namespaces.js';
import {
  API_VERSION,
  KIND,
  LABEL_HOST_IPC,
  LABEL_HOST_NETWORK,
  LABEL_HOST_PID,
  LABEL_MANAGED_BY,
  MANAGER,
  LABEL_NODE,
  LABEL_SEVERITY,
  type NamespaceReport,
  type ObjectMetadata,
  type ReportBody,
  type ReportContainer,
  type ReportMount,
} from './types.js';

/**
 * Size caps. etcd refuses objects over 1.5 MiB; a report stays far below: lists are capped and
 * `truncated: true` says something was left out.
 */
export const LIMITS = {
  containers: 64,
  mountsPerContainer: 64,
  listeners: 64,
  interfaces: 32,
  addressesPerInterface: 16,
  findings: 128,
  /** Serialized size above which the report is cut down further. */
  bytes: 256 * 1024,
  /** Mounts per container and listeners kept when the report is still too large. */
  fallbackItems: 8,
  /** Free text (errors, finding messages, image names): the CRD's maxLength. */
  text: 1024,
  /** Escaped processes kept per container, and the length of their command names. */
  escapedPerContainer: 32,
  comm: 64,
  /** Ranges of a uid_map or gid_map kept (the kernel allows 340; runtimes write one). */
  idRanges: 8,
  /** Writable sub-mounts listed per mount (the CRD's maxItems). */
  submounts: 8,
  /** Groups listed per container (a process may have 65536: NGROUPS_MAX). */
  groups: 64,
} as const;

/** Cuts free text to the CRD's maxLength, marking the cut. */
function clip(s: string): string {
  return s.length <= LIMITS.text ? s : s.slice(0, LIMITS.text - 1) + '…';
}

function cap<T>(items: readonly T[], max: number, cut: { truncated: boolean }): T[] {
  if (items.length > max) cut.truncated = true;
  return items.slice(0, max);
}

const LABEL_VALUE = /^(?:[A-Za-z0-9](?:[A-Za-z0-9._-]{0,61}[A-Za-z0-9])?)?$/;

/**
 * The label value that stands for a node (or any name) in `nsreport.dev/node`: the name itself
 * when it is a valid label value, else a stable, collision-free short form — a readable prefix
 * and 12 hex digits of the name's sha256 (≤63 chars). The agent, the audit's `--node` and its
 * coverage all use this one function; the full name stays in `report.node`.
 */
export function labelValue(s: string): string {
  if (LABEL_VALUE.test(s)) return s;
  const digest = createHash('sha256').update(s).digest('hex').slice(0, 12);
  const prefix = s
    .replace(/[^A-Za-z0-9._-]/g, '-')
    .slice(0, 50)
    .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9._-]+$/g, '');
  return prefix === '' ? digest : `${prefix}-${digest}`;
}

/**
 * JSON with object keys sorted at every level: the API server returns keys in its own order.
 * Written as loops: every pod's desired report is hashed on every scan.
 */
function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) {
    let s = '[';
    for (let i = 0; i < v.length; i++) s += (i > 0 ? ',' : '') + canonicalJson(v[i]);
    return s + ']';
  }
  if (typeof v !== 'object' || v === null) return JSON.stringify(v);
  const o = v as Record<string, unknown>;
  let s = '{';
  for (const k of Object.keys(o).sort()) {
    const x = o[k];
    if (x === undefined) continue;
    s += (s.length > 1 ? ',' : '') + JSON.stringify(k) + ':' + canonicalJson(x);
  }
  return s + '}';
}

/** The label keys nsreport sets; other labels on a report are someone else's and not compared. */
const OWN_LABELS = [
  LABEL_MANAGED_BY,
  LABEL_NODE,
  LABEL_HOST_NETWORK,
  LABEL_HOST_PID,
  LABEL_HOST_IPC,
  LABEL_SEVERITY,
] as const;

/** What a stored report must hold for the agent to leave it alone. */
export interface ReportContent {
  readonly metadata?: {
    readonly labels?: Readonly<Record<string, string>>;
    readonly ownerReferences?: readonly { kind?: string; name?: string; uid?: string }[];
  };
  readonly report?: unknown;
}

/**
 * sha256 of what nsreport manages in a report — its labels, its owner references and the body —
 * in canonical form, so the hash of the desired object and of the object read back from the API
 * agree exactly when nobody changed it. Equal hashes mean no API write is needed.
 */
export function contentHash(r: ReportContent): string {
  const labels = r.metadata?.labels ?? {};
  // A host label "false" (an older agent's) says what none says: no write for it alone.
  const content = {
    labels: Object.fromEntries(OWN_LABELS.map((k) => [k, labelSays(labels, k) ?? null])),
    owners: (r.metadata?.ownerReferences ?? []).map((o) => [o.kind, o.name, o.uid]),
    report: r.report ?? null,
  };
  return 'sha256:' + createHash('sha256').update(canonicalJson(content)).digest('hex').slice(0, 32);
}

/** A mount as reported: the pod's own kubelet volumes by name and type, not by host path. */
function reportMount(
  m: MountObservation,
  podUid: string,
  o: { submounts: number; cut: { truncated: boolean } },
): ReportMount {
  const { destination, source, readOnly, writableSubmounts, declaredPropagation, ...rest } = m;
  const volume = kubeletVolume(source, podUid);
  // Booleans are said when true (the API's omitempty convention), and the declared propagation
  // when not None, as a Pod's volumeMount says it (absent is None, core/v1 VolumeMount): every
  // byte of a report is paid once per pod in etcd.
  const base = {
    destination,
    ...(declaredPropagation !== 'None' ? { declaredPropagation } : {}),
    ...rest,
    ...(readOnly ? { readOnly } : {}),
    ...(writableSubmounts ? { writableSubmounts: cap(writableSubmounts, o.submounts, o.cut) } : {}),
  };
  return volume ? { ...base, volume } : { ...base, source };
}

/** A container's namespaces: `sharedWithHost` is said when "true" or "unknown" (absent: its own). */
function reportNamespaces(ns: ContainerInspection['namespaces']): ReportContainer['namespaces'] {
  const out: ReportContainer['namespaces'] = {};
  for (const [type, o] of Object.entries(ns) as [NamespaceType, NamespaceObservation][])
    out[type] =
      o.sharedWithHost === 'false'
        ? { inode: o.inode }
        : { inode: o.inode, sharedWithHost: o.sharedWithHost };
  return out;
}

function capContainers(
  containers: readonly ContainerInspection[],
  podUid: string,
  o: { mounts: number; cut: { truncated: boolean } },
): ReportContainer[] {
  const { mounts, cut } = o;
  return cap(containers, LIMITS.containers, cut).map(
    ({
      privileged,
      escaped,
      imageFromRuntime,
      userNamespace,
      rootHostUid,
      procMount,
      groups,
      namespaces,
      ...c
    }) => ({
      ...c,
      namespaces: reportNamespaces(namespaces),
      ...(privileged ? { privileged } : {}),
      // The newer isolation fields only when they say something else than the default.
      ...(userNamespace
        ? {
            userNamespace: {
              uidMap: cap(userNamespace.uidMap, LIMITS.idRanges, cut),
              gidMap: cap(userNamespace.gidMap, LIMITS.idRanges, cut),
              rootUid: userNamespace.rootUid,
            },
          }
        : {}),
      // A privileged container's /proc is unmasked by definition (NSR009 says more).
      ...(procMount === 'Unmasked' && !privileged ? { procMount } : {}),
      ...(groups && groupsWorthSaying(groups)
        ? {
            groups: {
              ...groups,
              supplementary: cap(groups.supplementary, LIMITS.groups, cut),
              ...(groups.fromImage ? { fromImage: cap(groups.fromImage, LIMITS.groups, cut) } : {}),
            },
          }
        : {}),
      ...(escaped
        ? {
            escaped: cap(escaped, LIMITS.escapedPerContainer, cut).map((e) => ({
              ...e,
              comm: e.comm.slice(0, LIMITS.comm),
            })),
          }
        : {}),
      image: clip(c.image),
      mounts: cap(c.mounts, mounts, cut).map((m) =>
        // The size fallback keeps one sub-mount a mount (a path may be 4 KiB).
        reportMount(m, podUid, {
          submounts: mounts < LIMITS.mountsPerContainer ? 1 : LIMITS.submounts,
          cut,
        }),
      ),
      ...(c.error !== undefined ? { error: clip(c.error) } : {}),
    }),
  );
}

function body(pod: PodInspection, mounts: number, listeners: number): ReportBody {
  const cut = { truncated: false };
  const containers = capContainers(pod.containers, pod.pod.uid, { mounts, cut });
  const interfaces = cap(pod.network.interfaces, LIMITS.interfaces, cut).map((i) => ({
    name: i.name,
    ipv4: cap(i.ipv4, LIMITS.addressesPerInterface, cut),
    ipv6: cap(i.ipv6, LIMITS.addressesPerInterface, cut),
  }));
  // A finding's mount is for acceptance by host path; the message says it to a reader.
  const findings = cap(pod.findings, LIMITS.findings, cut).map((f) => ({
    id: f.id,
    severity: f.severity,
    ...(f.container !== undefined ? { container: f.container } : {}),
    message: clip(f.message),
    ...(f.accepted ? { accepted: f.accepted } : {}),
  }));
  const counted = unaccepted(pod.findings);
  // The kubelet's annotation says the host address as the pod spec has it: capped as the CRD.
  const hostPorts = cap(pod.network.hostPorts, LIMITS.listeners, cut).map((m) => ({
    ...m,
    hostIp: m.hostIp.slice(0, 45),
  }));
  return {
    node: pod.node,
    pod: { uid: pod.pod.uid },
    runtime: { ...pod.runtime },
    sandbox: { ...pod.sandbox },
    hostNamespaces: { ...pod.hostNamespaces },
    // The user namespace asked for is said when it is the pod's own (hostUsers: false).
    declared: (({ user, ...d }) => (user === 'POD' ? { ...d, user } : d))(pod.declared),
    network: {
      netns: pod.network.netns,
      interfaces,
      // The container's id is in its entry; the report names the listener's container only.
      listeners: cap(pod.network.listeners, listeners, cut).map(
        ({ protocol, address, port, container }) => ({ protocol, address, port, container }),
      ),
      ...(hostPorts.length > 0 ? { hostPorts } : {}),
    },
    containers,
    findings,
    summary: {
      containers: pod.containers.length,
      mounts: pod.containers.reduce((n, c) => n + c.mounts.length, 0),
      findings: counted.length,
      accepted: pod.findings.length - counted.length,
      highestSeverity: highestSeverity(counted),
    },
    ...(cut.truncated ? { truncated: true } : {}),
    ...(pod.warnings && pod.warnings.length > 0
      ? { warnings: pod.warnings.slice(0, 8).map(clip) }
      : {}),
    ...(pod.error !== undefined ? { error: clip(pod.error) } : {}),
  };
}

/**
 * Who owns a report, for the garbage collector. A pod made from the API: the Pod (its CRI uid is
 * the Pod's UID). A static pod (sandbox annotation `kubernetes.io/config.source` other than
 * `api`): its CRI uid is the kubelet's hash of the manifest, not the mirror Pod's UID, so naming
 * it would get the report collected at once; the Node owns it instead (gone with the node), and
 * the agent deletes it when the static pod goes. No owner when the node's UID is not known.
 */
export interface Owner {
  readonly kind: 'Pod' | 'Node';
  readonly name: string;
  readonly uid: string;
}

export function ownerOf(pod: PodInspection, nodeUid: string | null): Owner | null {
  if (pod.static) return nodeUid ? { kind: 'Node', name: pod.node, uid: nodeUid } : null;
  return pod.pod.uid !== '' ? { kind: 'Pod', name: pod.pod.name, uid: pod.pod.uid } : null;
}

/**
 * The `ownerReferences` of an object owned by `owner` (none without one): never a controller and
 * never blocking, which is what the API reads when `controller` and `blockOwnerDeletion` are
 * absent (apimachinery's OwnerReference: both `omitempty`), so they are not written.
 */
export function ownerReferences(owner: Owner | null): Pick<ObjectMetadata, 'ownerReferences'> {
  if (!owner) return {};
  return {
    ownerReferences: [
      {
        apiVersion: 'v1',
        kind: owner.kind,
        name: owner.name,
        uid: owner.uid,
      },
    ],
  };
}

/** The NamespaceReport object for one pod (pure, deterministic). */
export function buildReport(pod: PodInspection, nodeUid: string | null): NamespaceReport {
  const owner = ownerOf(pod, nodeUid);
  let obj = assemble(pod, owner, body(pod, LIMITS.mountsPerContainer, LIMITS.listeners));
  if (JSON.stringify(obj).length > LIMITS.bytes) {
    obj = assemble(pod, owner, {
      ...body(pod, LIMITS.fallbackItems, LIMITS.fallbackItems),
      truncated: true,
    });
  }
  return obj;
}

/**
 * The labels a report's body stands for: what the agent writes, and what the audit holds a
 * report's labels against (a label can be edited apart from the body it summarises).
 */
export function reportLabels(b: ReportBody): Record<string, string> {
  const labels: Record<string, string> = {
    [LABEL_MANAGED_BY]: MANAGER,
    [LABEL_NODE]: labelValue(b.node),
  };
  // A host label is there ("true") only when the pod shares that namespace with the host: a plain
  // pod's report has none (`-l nsreport.dev/host-network=true` selects the others).
  for (const [key, host] of [
    [LABEL_HOST_NETWORK, effectiveHost(b.hostNamespaces.network, b.declared.network)],
    [LABEL_HOST_PID, effectiveHost(b.hostNamespaces.pid, b.declared.pid)],
    [LABEL_HOST_IPC, effectiveHost(b.hostNamespaces.ipc, b.declared.ipc)],
  ] as const)
    if (host) labels[key] = 'true';
  labels[LABEL_SEVERITY] = b.summary.highestSeverity;
  return labels;
}

/** The host labels: an older agent wrote them "false" as well, which says the same as none. */
export const HOST_LABELS: readonly string[] = [LABEL_HOST_NETWORK, LABEL_HOST_PID, LABEL_HOST_IPC];

/** What label `k` says: its value, none for a host label "false" (as none is written now). */
export function labelSays(
  labels: Readonly<Record<string, string | undefined>> | undefined,
  k: string,
): string | undefined {
  const v = labels?.[k];
  return v === 'false' && HOST_LABELS.includes(k) ? undefined : v;
}

function assemble(pod: PodInspection, owner: Owner | null, report: ReportBody): NamespaceReport {
  const labels = reportLabels(report);
  const metadata: NamespaceReport['metadata'] = {
    name: pod.pod.name,
    namespace: pod.pod.namespace,
    labels,
    ...ownerReferences(owner),
  };
  return { apiVersion: API_VERSION, kind: KIND, metadata, report };
}
