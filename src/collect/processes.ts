import type { ProcessSample } from '../inspect/types.js';
import { ancestry, mostSpecific } from '../procfs/cgroup.js';
import { listPids, readCgroup, readComm, readNamespaces } from '../procfs/reader.js';

/** Which container every process belongs to, by its cgroup, and the containers' other processes. */
export interface ProcessMembership {
  /** PID → container id, for every process in a container's cgroup (its init included). */
  readonly containerOf: ReadonlyMap<number, string>;
  /** Container id → its processes other than the init, with their namespaces. */
  readonly others: ReadonlyMap<string, readonly ProcessSample[]>;
}

/** A running container's id and init PID. */
export interface ContainerInit {
  readonly id: string;
  readonly pid: number;
}

const keyOf = (hierarchy: string, path: string): string => `${hierarchy}\u0000${path}`;

/**
 * One pass over procfs: each process belongs to the container whose cgroup holds it (the
 * container's init's most specific cgroup, or one below it), whatever namespaces it has entered
 * or made. A process cannot leave its container by unsharing or setns (cgroup membership does
 * not follow namespaces), so this is what attributes listeners and finds processes that live in
 * another namespace than their container's. About 10 µs per process: one read of
 * /proc/<pid>/cgroup, then the namespace links of the containers' other processes.
 */
export function readMembership(
  procRoot: string,
  inits: readonly ContainerInit[],
): ProcessMembership {
  const containerOf = new Map<number, string>(inits.map((c) => [c.pid, c.id]));
  const { byCgroup, hierarchies } = containerCgroups(procRoot, inits);
  const others = new Map<string, ProcessSample[]>();
  if (byCgroup.size === 0) return { containerOf, others };
  let pids: number[];
  try {
    pids = listPids(procRoot);
  } catch {
    return { containerOf, others };
  }
  for (const pid of pids) {
    if (containerOf.has(pid)) continue;
    const id = containerByCgroup(procRoot, pid, byCgroup, hierarchies);
    if (id === null) continue;
    containerOf.set(pid, id);
    const namespaces = readNamespaces(procRoot, pid);
    // Exited between the reads: nothing to say about it.
    if (!namespaces.ok && namespaces.reason === 'gone') continue;
    const comm = readComm(procRoot, pid);
    const list = others.get(id) ?? [];
    list.push({ pid, comm: comm.ok ? comm.value : '', namespaces });
    others.set(id, list);
  }
  return { containerOf, others };
}

/** Each container's own cgroup (its init's most specific one) → the container. */
function containerCgroups(
  procRoot: string,
  inits: readonly ContainerInit[],
): { byCgroup: Map<string, string>; hierarchies: Set<string> } {
  const byCgroup = new Map<string, string>();
  const hierarchies = new Set<string>();
  for (const c of inits) {
    const cg = readCgroup(procRoot, c.pid);
    const own = cg.ok ? mostSpecific(cg.value) : null;
    if (own === null) continue;
    byCgroup.set(keyOf(own.hierarchy, own.path), c.id);
    hierarchies.add(own.hierarchy);
  }
  return { byCgroup, hierarchies };
}

/** The container whose cgroup holds the process (its own or an ancestor of it); null if none. */
function containerByCgroup(
  procRoot: string,
  pid: number,
  byCgroup: ReadonlyMap<string, string>,
  hierarchies: ReadonlySet<string>,
): string | null {
  const cg = readCgroup(procRoot, pid);
  if (!cg.ok) return null;
  for (const e of cg.value) {
    if (!hierarchies.has(e.hierarchy)) continue;
    for (const path of ancestry(e.path)) {
      const id = byCgroup.get(keyOf(e.hierarchy, path));
      if (id !== undefined) return id;
    }
  }
  return null;
}
