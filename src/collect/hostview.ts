import type { Tristate } from '../inspect/types.js';
import {
  listProcesses,
  readNamespaceInode,
  readNamespaces,
  type ProcessEntry,
} from '../procfs/reader.js';

/**
 * The procfs-only view `nsreport scan` shows when no container runtime is reachable: every
 * network and mount namespace on the machine, the processes in it, and whether it is the host's.
 */
export interface HostNamespace {
  readonly type: 'net' | 'mnt';
  readonly inode: number;
  readonly host: Tristate;
  readonly processes: readonly ProcessEntry[];
}

export interface HostView {
  readonly kind: 'HostNamespaceView';
  readonly node: string;
  readonly hostPid: number;
  readonly hostReadable: boolean;
  readonly namespaces: readonly HostNamespace[];
  /** Processes whose namespace links could not be read (permission, or exited meanwhile). */
  readonly unreadable: number;
}

const TYPES = ['net', 'mnt'] as const;

export function collectHostView(procRoot: string, hostPid: number, node: string): HostView {
  const processes = listProcesses(procRoot);
  const hostNs = readNamespaces(procRoot, hostPid);
  const groups = new Map<
    string,
    { type: 'net' | 'mnt'; inode: number; processes: ProcessEntry[] }
  >();
  let unreadable = 0;
  for (const p of processes) {
    const inodes = TYPES.map((t) => readNamespaceInode(procRoot, p.pid, t));
    if (inodes.every((i) => i === null)) unreadable++;
    TYPES.forEach((type, i) => {
      const inode = inodes[i];
      if (inode === null || inode === undefined) return;
      const key = `${type}:${inode}`;
      const g = groups.get(key) ?? { type, inode, processes: [] };
      g.processes.push(p);
      groups.set(key, g);
    });
  }
  const namespaces = [...groups.values()]
    .map((g) => {
      const hostInode = hostNs.ok ? hostNs.value[g.type] : undefined;
      const host: Tristate =
        hostInode === undefined ? 'unknown' : hostInode === g.inode ? 'true' : 'false';
      // listProcesses returns pids in order, so each group's processes already are.
      return { ...g, host };
    })
    .sort((a, b) => (a.type === b.type ? a.inode - b.inode : a.type < b.type ? 1 : -1));
  return {
    kind: 'HostNamespaceView',
    node,
    hostPid,
    hostReadable: hostNs.ok,
    namespaces,
    unreadable,
  };
}
