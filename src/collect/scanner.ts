import { errorText } from '../base/errors.js';
import type { AcceptPolicy } from '../inspect/accept.js';
import type {
  ContainerDetail,
  ContainerSummary,
  RuntimeClient,
  SandboxDetail,
  SandboxSummary,
} from '../cri/types.js';
import { inspect } from '../inspect/inspect.js';
import { podIdentityProblem, quote } from '../inspect/names.js';
import type {
  ContainerSample,
  HostReference,
  PodInspection,
  SandboxSample,
  Snapshot,
} from '../inspect/types.js';
import { isUnder, mountPointsHolding } from '../procfs/mountinfo.js';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import {
  readIdentity,
  readMountinfo,
  readNamespaceInode,
  readNamespaces,
  type ProcessIdentity,
} from '../procfs/reader.js';
import type { NamespaceSet } from '../procfs/namespaces.js';
import { isProcMountPath, isSandboxed, readOnlyDestinations } from '../inspect/isolation.js';
import type { MountInfo } from '../procfs/mountinfo.js';
import type { ReadResult } from '../procfs/result.js';
import { createDestinationResolver } from './destinations.js';
import { createNetworkObserver, type NetnsGroup } from './network.js';
import { checkProcessStart, stalePid } from './pid.js';
import { readMembership } from './processes.js';

/** Mounts looked at below a container's read-only volumes, at most. */
const MAX_SUBMOUNT_LINES = 256;

export interface ScannerOptions {
  readonly runtime: RuntimeClient;
  readonly procRoot: string;
  readonly hostPid: number;
  readonly node: string;
  /**
   * How long a network namespace's interfaces and listeners are reused before they are read
   * again although its containers did not change (net/tcp costs 1–10 ms per namespace read).
   * 0: every scan reads every namespace.
   */
  readonly networkMaxAgeMs: number;
  /** Findings the admin accepts (default: none). */
  readonly accept?: AcceptPolicy;
  /** Deadline of a walk in a container's root to place a mount destination (default 2 s). */
  readonly resolveTimeoutMs?: number;
  readonly now?: () => number;
}

export interface ScanStats {
  /** CRI status calls made by this scan (0 in a steady state). */
  readonly statusCalls: number;
  /** Network namespaces read (not served from cache) by this scan. */
  readonly networkReads: number;
}

export interface ScanResult {
  readonly snapshot: Snapshot;
  readonly pods: PodInspection[];
  readonly warnings: string[];
  readonly stats: ScanStats;
}

export interface Scanner {
  /** One scan of the node. Rejects only when the runtime cannot be listed (CriError). */
  scan(): Promise<ScanResult>;
}

/**
 * Running containers grouped by network namespace inode, read through the first; and the pods
 * with no running container whose infra process still holds their namespace.
 */
type Group = { members: ContainerSample[]; ownedOnly: boolean; pid: number };

/** Adds a sandbox's running containers to the groups of their network namespaces. */
function addContainers(groups: Map<number, Group>, s: SandboxSample, hostNet?: number): void {
  const hostNetwork = s.detail?.declared.network === 'NODE';
  for (const c of s.containers) {
    const inode = c.namespaces?.ok ? c.namespaces.value.net : undefined;
    if (inode === undefined || !c.detail) continue;
    const g = groups.get(inode) ?? { members: [], ownedOnly: inode === hostNet, pid: c.detail.pid };
    g.members.push(c);
    g.ownedOnly ||= hostNetwork;
    groups.set(inode, g);
  }
}

function groupByNetns(
  sandboxes: readonly SandboxSample[],
  hostNet: number | undefined,
): NetnsGroup[] {
  const groups = new Map<number, Group>();
  for (const s of sandboxes) addContainers(groups, s, hostNet);
  for (const s of sandboxes) {
    const infra = s.detail?.infraPid ?? 0;
    if (s.network?.via !== 'infra' || infra <= 0 || groups.has(s.network.inode)) continue;
    groups.set(s.network.inode, {
      members: [],
      ownedOnly: s.network.inode === hostNet,
      pid: infra,
    });
  }
  return [...groups].map(([inode, g]) => ({ inode, ...g }));
}

/** How long after its sandbox's creation an infra process may have started. */
const INFRA_START_MS = 60_000;

/**
 * The network namespace of a pod none of whose containers runs: its infra process's (if that
 * process is still the one the sandbox started), else the one the runtime pinned, as the host
 * reference's root sees the path (a stat: the nsfs inode is the namespace's). Nothing when the
 * runtime says neither.
 */
function podNetns(
  procRoot: string,
  hostPid: number,
  s: SandboxSummary,
  d: SandboxDetail | null,
): SandboxSample['network'] {
  const pid = d?.infraPid ?? 0;
  if (pid > 0) {
    const own = checkProcessStart(procRoot, pid, {
      createdNs: s.createdAt,
      latestNs: s.createdAt + INFRA_START_MS * 1e6,
      what: 'sandbox',
    });
    const net = own.verdict === 'own' ? readNamespaceInode(procRoot, pid, 'net') : null;
    if (net !== null) return { inode: net, via: 'infra' };
  }
  if (d?.netnsPath) {
    try {
      return {
        inode: statSync(join(procRoot, String(hostPid), 'root', d.netnsPath)).ino,
        via: 'pinned',
      };
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/**
 * The pods whose namespace and name can name a report (a runtime may say anything: an empty pod
 * name would make a write to a malformed API path, and the agent blame the API); each other one
 * is a warning naming its sandbox, and the rest goes on.
 */
function namedPods(pods: readonly PodInspection[], warnings: string[]): PodInspection[] {
  return pods.filter((p) => {
    const problem = podIdentityProblem(p.pod);
    if (problem !== null) warnings.push(`sandbox ${quote(p.sandbox.id)}: ${problem}: no report`);
    return problem === null;
  });
}

/**
 * Collects a Snapshot from the runtime and procfs and inspects it. Keeps what does not change
 * for an object's life between scans: sandbox declarations, container status (PID, mounts),
 * and, for `networkMaxAgeMs`, pod network namespaces.
 */
// eslint-disable-next-line max-lines-per-function -- a factory: its closure is the module
export function createScanner(opts: ScannerOptions): Scanner {
  const now = opts.now ?? Date.now;
  const sandboxCache = new Map<string, SandboxDetail>();
  const containerCache = new Map<string, { state: string; detail: ContainerDetail }>();
  const identityCache = new Map<string, { key: string; identity: ReadResult<ProcessIdentity> }>();
  const destinations = createDestinationResolver({
    procRoot: opts.procRoot,
    now,
    ...(opts.resolveTimeoutMs !== undefined ? { timeoutMs: opts.resolveTimeoutMs } : {}),
  });
  const network = createNetworkObserver({
    procRoot: opts.procRoot,
    maxAgeMs: opts.networkMaxAgeMs,
    now,
  });

  async function sandboxDetail(
    s: SandboxSummary,
    stats: { statusCalls: number },
  ): Promise<{ detail: SandboxDetail | null; error: string | null }> {
    const cached = sandboxCache.get(s.id);
    if (cached) return { detail: cached, error: null };
    try {
      stats.statusCalls++;
      const detail = await opts.runtime.sandboxStatus(s.id);
      sandboxCache.set(s.id, detail);
      return { detail, error: null };
    } catch (err) {
      return { detail: null, error: errorText(err) };
    }
  }

  /** The container's status: from the cache while its listed state holds, else from CRI. */
  async function statusOf(
    c: ContainerSummary,
    stats: { statusCalls: number },
  ): Promise<ContainerDetail | { error: string }> {
    const cached = containerCache.get(c.id);
    if (cached?.state === c.state) return cached.detail;
    try {
      stats.statusCalls++;
      const detail = await opts.runtime.containerStatus(c.id);
      // Listed as running but without a process (it exited in between): asked again next scan.
      if (c.state !== 'running' || detail.pid > 0)
        containerCache.set(c.id, { state: c.state, detail });
      return detail;
    } catch (err) {
      return { error: errorText(err) };
    }
  }

  async function containerSample(
    c: ContainerSummary,
    detail: ContainerDetail | { error: string },
    host: {
      readonly mounts: ReadResult<MountInfo[]>;
      readonly userns: number | undefined;
      /** Its pod runs in a sandboxed runtime handler. */
      readonly sandboxed: boolean;
    },
  ): Promise<ContainerSample> {
    const none = { namespaces: null, mountinfo: null } as const;
    if ('error' in detail) return { summary: c, detail: null, error: detail.error, ...none };
    if (c.state !== 'running' || detail.state !== 'running' || detail.pid <= 0) {
      // Listed as running, no process when asked: it exited in between; not said as running.
      const summary = c.state === 'running' ? { ...c, state: 'unknown' as const } : c;
      return { summary, detail, error: null, ...none };
    }
    if (host.sandboxed) {
      // Its PID is the sandbox's (a user-space kernel or a VM monitor), not the workload's.
      return { summary: c, detail, error: null, ...none, sandboxed: true };
    }
    const stale = stalePid(opts.procRoot, detail);
    if (stale !== null) {
      // Asked again next scan: the runtime may not have seen the exit yet.
      containerCache.delete(c.id);
      return { summary: { ...c, state: 'unknown' }, detail, error: stale, ...none };
    }
    const namespaces = readNamespaces(opts.procRoot, detail.pid);
    const { resolved, error } = await destinations.resolve(
      c.id,
      detail,
      host.mounts.ok ? host.mounts.value : [],
    );
    // Only the declared destinations (as resolved in the container) are looked up, what is
    // below a read-only one, and /proc's masks.
    const wanted = new Set(resolved.values());
    const readOnly = readOnlyDestinations(detail, resolved);
    // At most MAX_SUBMOUNT_LINES below the read-only ones: a table may have 100,000 mounts.
    let below = 0;
    const mountinfo = readMountinfo(
      opts.procRoot,
      detail.pid,
      (mp) =>
        wanted.has(mp) ||
        isProcMountPath(mp) ||
        (below < MAX_SUBMOUNT_LINES && readOnly.some((d) => isUnder(mp, d)) && ++below > 0),
    );
    const identity = identityOf(c.id, detail.pid, namespaces, host.userns);
    return { summary: c, detail, error, namespaces, mountinfo, resolved, identity };
  }

  /**
   * The groups and ID maps of a container's first process: read once per process (a user
   * namespace's maps are written once; a container's groups are its start's).
   */
  function identityOf(
    id: string,
    pid: number,
    namespaces: ReadResult<NamespaceSet>,
    hostUserns: number | undefined,
  ): ReadResult<ProcessIdentity> {
    const own = namespaces.ok && hostUserns !== undefined && namespaces.value.user !== hostUserns;
    // Read again when the process or its user namespace is another one (it may unshare one).
    const key = `${pid}/${namespaces.ok ? namespaces.value.user : ''}/${own}`;
    const cached = identityCache.get(id);
    if (cached?.key === key) return cached.identity;
    const identity = readIdentity(opts.procRoot, pid, own);
    if (identity.ok) identityCache.set(id, { key, identity });
    return identity;
  }

  function prune(
    sandboxes: readonly SandboxSummary[],
    containers: readonly ContainerSummary[],
  ): void {
    const sb = new Set(sandboxes.map((s) => s.id));
    for (const id of sandboxCache.keys()) if (!sb.has(id)) sandboxCache.delete(id);
    const ct = new Set(containers.map((c) => c.id));
    for (const id of containerCache.keys()) if (!ct.has(id)) containerCache.delete(id);
    for (const id of identityCache.keys()) if (!ct.has(id)) identityCache.delete(id);
    destinations.prune(ct);
  }

  /**
   * Each sandbox with its containers; a pod with no running container gets its network
   * namespace through its infra process or pin.
   */
  function sandboxSamples(o: {
    readonly list: readonly SandboxSummary[];
    readonly details: readonly Awaited<ReturnType<typeof sandboxDetail>>[];
    readonly samples: readonly ContainerSample[];
    readonly sandboxed: ReadonlySet<string>;
    readonly stats: { statusCalls: number };
  }): Promise<SandboxSample[]> {
    const bySandbox = new Map<string, ContainerSample[]>();
    for (const c of o.samples) {
      bySandbox.set(c.summary.sandboxId, [...(bySandbox.get(c.summary.sandboxId) ?? []), c]);
    }
    return Promise.all(
      o.list.map(async (summary, i) => {
        const containers = bySandbox.get(summary.id) ?? [];
        const detail = o.details[i] ?? (await sandboxDetail(summary, o.stats));
        const running = containers.some((c) => c.namespaces?.ok);
        const network =
          running || summary.state !== 'ready' || o.sandboxed.has(summary.id)
            ? undefined
            : podNetns(opts.procRoot, opts.hostPid, summary, detail.detail);
        return { summary, ...detail, containers, ...(network ? { network } : {}) };
      }),
    );
  }

  return {
    async scan(): Promise<ScanResult> {
      const stats = { statusCalls: 0, networkReads: 0 };
      const [version, sandboxList, containerList] = await Promise.all([
        // Asked every scan (one small call): a runtime upgraded in place says so at once.
        opts.runtime.version(),
        opts.runtime.listSandboxes(),
        opts.runtime.listContainers(),
      ]);
      const hostNs = readNamespaces(opts.procRoot, opts.hostPid);
      prune(sandboxList, containerList);
      // Sandbox statuses first (cached: one call a sandbox's life): a sandboxed runtime's
      // containers are not read through their PIDs.
      const sandboxDetails = await Promise.all(sandboxList.map((s) => sandboxDetail(s, stats)));
      const sandboxedIds = new Set(
        sandboxList
          .filter((s, i) => isSandboxed(s.runtimeHandler, sandboxDetails[i]?.detail?.runtimeType))
          .map((s) => s.id),
      );
      const details = await Promise.all(containerList.map((c) => statusOf(c, stats)));
      // On the host side only the mounts that can hold a declared source matter.
      const holders = mountPointsHolding(
        details.flatMap((d) => ('error' in d ? [] : d.mounts.map((m) => m.hostPath))),
      );
      const hostMounts = readMountinfo(opts.procRoot, opts.hostPid, (mp) => holders.has(mp));
      const sampled = await Promise.all(
        containerList.map((c, i) =>
          containerSample(c, details[i] ?? { error: 'no status' }, {
            mounts: hostMounts,
            userns: hostNs.ok ? hostNs.value.user : undefined,
            sandboxed: sandboxedIds.has(c.sandboxId),
          }),
        ),
      );
      // One pass over procfs: every process by the container whose cgroup holds it.
      const membership = readMembership(
        opts.procRoot,
        sampled.flatMap((c) =>
          c.namespaces?.ok && c.detail ? [{ id: c.summary.id, pid: c.detail.pid }] : [],
        ),
      );
      const samples = sampled.map((c) => {
        const processes = membership.others.get(c.summary.id);
        return processes ? { ...c, processes } : c;
      });
      const host: HostReference = { pid: opts.hostPid, namespaces: hostNs, mountinfo: hostMounts };
      const sandboxes = await sandboxSamples({
        list: sandboxList,
        details: sandboxDetails,
        samples,
        sandboxed: sandboxedIds,
        stats,
      });
      const nets = network.observe(
        groupByNetns(sandboxes, hostNs.ok ? hostNs.value.net : undefined),
        membership.containerOf,
      );
      stats.networkReads = nets.reads;
      const snapshot: Snapshot = {
        node: opts.node,
        runtime: version,
        host,
        sandboxes,
        networks: nets.map,
      };
      const warnings: string[] = [];
      if (!hostNs.ok) {
        warnings.push(
          `host reference PID ${opts.hostPid} is unreadable (${hostNs.reason}: ${hostNs.detail}): ` +
            'host sharing is reported as unknown; pass --host-pid with a process in the host namespaces',
        );
      }
      return {
        snapshot,
        pods: namedPods(inspect(snapshot, opts.accept), warnings),
        warnings,
        stats,
      };
    },
  };
}
