import type { ContainerSample, Listener, NetworkObservation } from '../inspect/types.js';
import {
  readNetwork,
  readProcessNetns,
  readSocketInodes,
  type ProcessNetns,
} from '../procfs/reader.js';

/** The containers of one network namespace, as the scanner groups them. */
export interface NetnsGroup {
  readonly inode: number;
  /** Running containers with readable namespaces (none: a pod's infra process alone). */
  readonly members: readonly ContainerSample[];
  /** The process the namespace is read through: a member's, or the infra process's. */
  readonly pid: number;
  /**
   * The host's namespace (or a hostNetwork pod's): only sockets held by the members' processes
   * are theirs; every other process of the host is in it too.
   */
  readonly ownedOnly: boolean;
}

export interface NetworkObserverOptions {
  readonly procRoot: string;
  /** Age after which a namespace is read again although its containers did not change. */
  readonly maxAgeMs: number;
  readonly now: () => number;
}

export interface NetworkObserver {
  /**
   * Observations keyed by netns inode, and how many namespaces were actually read. `containerOf`:
   * PID → container id by cgroup (processes.ts), what attributes a socket to its container.
   */
  observe(
    groups: readonly NetnsGroup[],
    containerOf?: ReadonlyMap<number, string>,
  ): { map: Map<number, NetworkObservation>; reads: number };
}

function compareListeners(a: Listener, b: Listener): number {
  const ka = `${a.protocol} ${a.address} ${String(a.port).padStart(5, '0')} ${a.container} ${a.containerId}`;
  const kb = `${b.protocol} ${b.address} ${String(b.port).padStart(5, '0')} ${b.container} ${b.containerId}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

function membersKey(g: NetnsGroup): string {
  return `${g.pid}:${g.members
    .map((m) => m.summary.id)
    .sort()
    .join(',')}`;
}

interface Holder {
  readonly name: string;
  readonly id: string;
}

const NOBODY: Holder = { name: '', id: '' };

/** The group's containers by id, and by the mount namespace of their init. */
function holders(g: NetnsGroup): { byId: Map<string, Holder>; byMnt: Map<number, Holder> } {
  const byId = new Map<string, Holder>();
  const byMnt = new Map<number, Holder>();
  for (const m of g.members) {
    const h = { name: m.summary.name, id: m.summary.id };
    byId.set(h.id, h);
    const mnt = m.namespaces?.ok ? m.namespaces.value.mnt : undefined;
    if (mnt !== undefined) byMnt.set(mnt, h);
  }
  return { byId, byMnt };
}

/**
 * Socket inode → container, from the fd tables of the namespace's processes; `complete`
 * is false when some fd table could not be read (permission), so "no socket" is not known.
 */
function socketOwners(
  procRoot: string,
  g: NetnsGroup,
  processes: readonly ProcessNetns[],
  containerOf: ReadonlyMap<number, string>,
): { owner: Map<number, Holder>; complete: boolean } {
  const { byId, byMnt } = holders(g);
  const owner = new Map<number, Holder>();
  let complete = true;
  for (const p of processes) {
    // A process belongs to the container whose cgroup holds it, whatever mount namespace it
    // made for itself; one outside every container's cgroup, to the container whose mount
    // namespace it shares (when the cgroups could not be read).
    const byCgroup = containerOf.get(p.pid);
    const holder =
      byCgroup !== undefined ? byId.get(byCgroup) : p.mnt === null ? undefined : byMnt.get(p.mnt);
    if (g.ownedOnly && holder === undefined) continue;
    const inodes = readSocketInodes(procRoot, p.pid);
    if (!inodes.ok && inodes.reason !== 'gone') complete = false;
    for (const i of inodes.ok ? inodes.value : []) owner.set(i, holder ?? NOBODY);
  }
  return { owner, complete };
}

function observeOne(
  procRoot: string,
  g: NetnsGroup,
  processes: readonly ProcessNetns[],
  containerOf: ReadonlyMap<number, string>,
): NetworkObservation | null {
  const pid = g.pid;
  const { owner, complete } = socketOwners(procRoot, g, processes, containerOf);
  // net/tcp* cost ~1–10 ms each (the kernel walks every socket of the host): not worth it when
  // no process of the namespace holds a socket at all, which means it has no listener.
  const sample = readNetwork(procRoot, pid, owner.size > 0 || !complete);
  if (!sample.ok) return null;
  const listeners = (sample.value.listeners ?? [])
    .map((l) => {
      const holder = owner.get(l.inode) ?? NOBODY;
      return {
        protocol: l.protocol,
        address: l.address,
        port: l.port,
        container: holder.name,
        containerId: holder.id,
      };
    })
    .filter((l) => !g.ownedOnly || l.container !== '')
    .sort(compareListeners);
  return { interfaces: sample.value.interfaces, listeners };
}

/** One pass over procfs: the processes of every network namespace. */
function processesByNetns(procRoot: string): Map<number, ProcessNetns[]> {
  const byNet = new Map<number, ProcessNetns[]>();
  for (const p of readProcessNetns(procRoot)) {
    if (p.net === null) continue;
    const list = byNet.get(p.net);
    if (list) list.push(p);
    else byNet.set(p.net, [p]);
  }
  return byNet;
}

/**
 * Network namespaces are read once per namespace (never per container), and then only when
 * new, when the set of containers in them changed, or when older than `maxAgeMs`.
 */
export function createNetworkObserver(opts: NetworkObserverOptions): NetworkObserver {
  const cache = new Map<number, { at: number; key: string; observation: NetworkObservation }>();
  return {
    observe(groups, containerOf = new Map<number, string>()) {
      const t = opts.now();
      const map = new Map<number, NetworkObservation>();
      const stale: NetnsGroup[] = [];
      for (const g of groups) {
        const c = cache.get(g.inode);
        if (c && c.key === membersKey(g) && t - c.at < opts.maxAgeMs)
          map.set(g.inode, c.observation);
        else stale.push(g);
      }
      if (stale.length > 0) {
        const byNet = processesByNetns(opts.procRoot);
        for (const g of stale) {
          const observation = observeOne(opts.procRoot, g, byNet.get(g.inode) ?? [], containerOf);
          if (observation === null) continue;
          map.set(g.inode, observation);
          cache.set(g.inode, { at: t, key: membersKey(g), observation });
        }
      }
      const live = new Set(groups.map((g) => g.inode));
      for (const inode of cache.keys()) if (!live.has(inode)) cache.delete(inode);
      return { map, reads: stale.length };
    },
  };
}
