import type {
  ContainerDetail,
  ContainerSummary,
  RuntimeClient,
  RuntimeVersion,
  SandboxDetail,
  SandboxSummary,
} from '../cri/types.js';
import { inspect } from '../inspect/inspect.js';
import type {
  ContainerSample,
  HostReference,
  Listener,
  NetworkObservation,
  PodInspection,
  SandboxSample,
  Snapshot,
} from '../inspect/types.js';
import {
  readChildren,
  readMountinfo,
  readNamespaces,
  readNetwork,
  readSocketInodes,
} from '../procfs/reader.js';

export interface ScannerOptions {
  readonly runtime: RuntimeClient;
  readonly procRoot: string;
  readonly hostPid: number;
  readonly node: string;
  /**
   * How long a pod network namespace's interfaces and listeners are reused before they are read
   * again (reading net/tcp costs ~1 ms per namespace). The host's namespace is read every scan.
   */
  readonly networkMaxAgeMs: number;
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

interface CachedNetwork {
  readonly at: number;
  readonly observation: NetworkObservation;
}

/** Processes of a container whose sockets count as its own: its init and init's children. */
async function containerPids(procRoot: string, pid: number): Promise<number[]> {
  return [pid, ...(await readChildren(procRoot, pid))];
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Collects a Snapshot from the runtime and procfs and inspects it. Keeps what does not change
 * for an object's life between scans: sandbox declarations, container status (PID, mounts),
 * and, for `networkMaxAgeMs`, pod network namespaces.
 */
export function createScanner(opts: ScannerOptions): Scanner {
  const now = opts.now ?? Date.now;
  const sandboxCache = new Map<string, SandboxDetail>();
  const containerCache = new Map<string, { state: string; detail: ContainerDetail }>();
  const networkCache = new Map<number, CachedNetwork>();
  let runtimeVersion: RuntimeVersion | null = null;

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

  async function containerSample(
    c: ContainerSummary,
    stats: { statusCalls: number },
  ): Promise<ContainerSample> {
    let detail =
      containerCache.get(c.id)?.state === c.state ? containerCache.get(c.id)?.detail : undefined;
    if (!detail) {
      try {
        stats.statusCalls++;
        detail = await opts.runtime.containerStatus(c.id);
        containerCache.set(c.id, { state: c.state, detail });
      } catch (err) {
        return {
          summary: c,
          detail: null,
          error: errorText(err),
          namespaces: null,
          mountinfo: null,
        };
      }
    }
    if (c.state !== 'running' || detail.pid <= 0) {
      return { summary: c, detail, error: null, namespaces: null, mountinfo: null };
    }
    const [namespaces, mountinfo] = await Promise.all([
      readNamespaces(opts.procRoot, detail.pid),
      readMountinfo(opts.procRoot, detail.pid),
    ]);
    return { summary: c, detail, error: null, namespaces, mountinfo };
  }

  async function observeNetwork(
    members: readonly ContainerSample[],
    ownedOnly: boolean,
  ): Promise<NetworkObservation | null> {
    const pid = members[0]?.detail?.pid;
    if (pid === undefined) return null;
    const sample = await readNetwork(opts.procRoot, pid, true);
    if (!sample.ok) return null;
    const owner = new Map<number, string>();
    await Promise.all(
      members.map(async (m) => {
        for (const p of await containerPids(opts.procRoot, m.detail?.pid ?? 0)) {
          const inodes = await readSocketInodes(opts.procRoot, p);
          if (inodes.ok) for (const i of inodes.value) owner.set(i, m.summary.name);
        }
      }),
    );
    const listeners: Listener[] = [];
    for (const l of sample.value.listeners ?? []) {
      const container = owner.get(l.inode) ?? '';
      if (ownedOnly && container === '') continue;
      listeners.push({ protocol: l.protocol, address: l.address, port: l.port, container });
    }
    listeners.sort(compareListeners);
    return { interfaces: sample.value.interfaces, listeners };
  }

  async function networks(
    sandboxes: readonly SandboxSample[],
    hostNet: number | undefined,
  ): Promise<{ map: Map<number, NetworkObservation>; reads: number }> {
    const byNetns = new Map<number, ContainerSample[]>();
    for (const c of sandboxes.flatMap((s) => s.containers)) {
      const inode = c.namespaces?.ok ? c.namespaces.value.net : undefined;
      if (inode !== undefined) byNetns.set(inode, [...(byNetns.get(inode) ?? []), c]);
    }
    const map = new Map<number, NetworkObservation>();
    let reads = 0;
    const t = now();
    await Promise.all(
      [...byNetns].map(async ([inode, members]) => {
        const cached = networkCache.get(inode);
        const isHost = inode === hostNet;
        if (cached && !isHost && t - cached.at < opts.networkMaxAgeMs) {
          map.set(inode, cached.observation);
          return;
        }
        reads++;
        const observation = await observeNetwork(members, isHost);
        if (observation) {
          map.set(inode, observation);
          networkCache.set(inode, { at: t, observation });
        }
      }),
    );
    for (const inode of networkCache.keys()) if (!byNetns.has(inode)) networkCache.delete(inode);
    return { map, reads };
  }

  function prune(
    sandboxes: readonly SandboxSummary[],
    containers: readonly ContainerSummary[],
  ): void {
    const sb = new Set(sandboxes.map((s) => s.id));
    for (const id of sandboxCache.keys()) if (!sb.has(id)) sandboxCache.delete(id);
    const ct = new Set(containers.map((c) => c.id));
    for (const id of containerCache.keys()) if (!ct.has(id)) containerCache.delete(id);
  }

  return {
    async scan(): Promise<ScanResult> {
      const stats = { statusCalls: 0, networkReads: 0 };
      const [version, sandboxList, containerList, hostNs, hostMounts] = await Promise.all([
        runtimeVersion ?? opts.runtime.version(),
        opts.runtime.listSandboxes(),
        opts.runtime.listContainers(),
        readNamespaces(opts.procRoot, opts.hostPid),
        readMountinfo(opts.procRoot, opts.hostPid),
      ]);
      runtimeVersion = version;
      prune(sandboxList, containerList);
      const host: HostReference = { pid: opts.hostPid, namespaces: hostNs, mountinfo: hostMounts };
      const samples = await Promise.all(containerList.map((c) => containerSample(c, stats)));
      const bySandbox = new Map<string, ContainerSample[]>();
      for (const c of samples) {
        bySandbox.set(c.summary.sandboxId, [...(bySandbox.get(c.summary.sandboxId) ?? []), c]);
      }
      const sandboxes: SandboxSample[] = await Promise.all(
        sandboxList.map(async (summary) => ({
          summary,
          ...(await sandboxDetail(summary, stats)),
          containers: bySandbox.get(summary.id) ?? [],
        })),
      );
      const nets = await networks(sandboxes, hostNs.ok ? hostNs.value.net : undefined);
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
      return { snapshot, pods: inspect(snapshot), warnings, stats };
    },
  };
}

function compareListeners(a: Listener, b: Listener): number {
  const ka = `${a.protocol} ${a.address} ${String(a.port).padStart(5, '0')} ${a.container}`;
  const kb = `${b.protocol} ${b.address} ${String(b.port).padStart(5, '0')} ${b.container}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}
