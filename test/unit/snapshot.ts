import type {
  ContainerDetail,
  ContainerSummary,
  DeclaredMount,
  GroupIds,
  PortMapping,
  SandboxSummary,
} from '../../src/cri/types.js';
import type { ContainerSample, SandboxSample, Snapshot } from '../../src/inspect/types.js';
import { parseMountinfo } from '../../src/procfs/mountinfo.js';
import type { NamespaceSet } from '../../src/procfs/namespaces.js';
import type { ProcessIdentity } from '../../src/procfs/reader.js';
import { failed, ok } from '../../src/procfs/result.js';

/** Builders for hand-made snapshots (unit tests of the pure core). */
export const HOST_NS: NamespaceSet = {
  net: 1,
  mnt: 2,
  pid: 3,
  ipc: 4,
  uts: 5,
  user: 6,
  cgroup: 7,
  time: 8,
};
export const HOST_MOUNTS = parseMountinfo(
  [
    '1 0 8:1 / / rw - ext4 /dev/a rw',
    '2 1 8:1 /srv/shared /srv/shared rw shared:1 - ext4 /dev/a rw',
    '3 1 8:1 /srv/slave /srv/slave rw master:4 - ext4 /dev/a rw',
  ].join('\n'),
);

export function containerMounts(lines: string[]): string {
  return ['10 0 0:50 / / rw - overlay overlay rw', ...lines].join('\n');
}

export function sample(
  name: string,
  opts: {
    ns?: NamespaceSet;
    mounts?: DeclaredMount[];
    mountinfo?: string;
    privileged?: boolean;
    state?: ContainerSummary['state'];
    pid?: number;
    sandboxId?: string;
    /** The CRI container id (default `id-<name>`). */
    id?: string;
    uid?: number | null;
    rootfsPropagation?: string | null;
    hostPorts?: PortMapping[];
    declaredGroups?: GroupIds | null;
    /** status groups and, for a user namespace of its own, the maps (procfs). */
    identity?: ProcessIdentity;
  } = {},
): ContainerSample {
  const pid = opts.pid ?? 100;
  const summary: ContainerSummary = {
    id: opts.id ?? `id-${name}`,
    sandboxId: opts.sandboxId ?? 'sb-1',
    name,
    image: 'busybox:1',
    state: opts.state ?? 'running',
    createdAt: 1,
  };
  const detail: ContainerDetail = {
    id: summary.id,
    state: summary.state,
    pid,
    createdAt: 0,
    startedAt: 0,
    mounts: opts.mounts ?? [],
    image: null,
    imageAsWritten: true,
    privileged: opts.privileged ?? false,
    uid: opts.uid === undefined ? 1000 : opts.uid,
    rootfsPropagation: opts.rootfsPropagation ?? null,
    hostPorts: opts.hostPorts ?? [],
    declaredGroups: opts.declaredGroups ?? null,
  };
  const running = summary.state === 'running';
  return {
    summary,
    detail,
    error: null,
    namespaces: running
      ? ok(opts.ns ?? { ...HOST_NS, net: 101, mnt: 102, pid: 103, ipc: 104, uts: 105 })
      : null,
    mountinfo: running ? ok(parseMountinfo(opts.mountinfo ?? containerMounts([]))) : null,
    ...(running && opts.identity ? { identity: ok(opts.identity) } : {}),
  };
}

export function sandbox(
  containers: ContainerSample[],
  opts: {
    name?: string;
    network?: 'POD' | 'NODE';
    id?: string;
    state?: SandboxSummary['state'];
    createdAt?: number;
    static?: boolean;
    namespace?: string;
    uid?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    runtimeHandler?: string;
    user?: 'POD' | 'NODE';
  } = {},
): SandboxSample {
  const name = opts.name ?? 'web';
  return {
    summary: {
      id: opts.id ?? 'sb-1',
      pod: { name, namespace: opts.namespace ?? 'shop', uid: opts.uid ?? `uid-${name}` },
      state: opts.state ?? 'ready',
      createdAt: opts.createdAt ?? 1,
      labels: opts.labels ?? {},
      annotations: opts.annotations ?? {},
      static: opts.static ?? false,
      runtimeHandler: opts.runtimeHandler ?? '',
    },
    detail: {
      id: opts.id ?? 'sb-1',
      declared: {
        network: opts.network ?? 'POD',
        pid: 'CONTAINER',
        ipc: 'POD',
        ...(opts.user ? { user: opts.user } : {}),
      },
      ips: [],
    },
    error: null,
    containers,
  };
}

export function snapshot(
  sandboxes: SandboxSample[],
  opts: { hostReadable?: boolean; networks?: Snapshot['networks'] } = {},
): Snapshot {
  return {
    node: 'node-1',
    runtime: { name: 'containerd', version: '1.6.20', apiVersion: 'v1' },
    host: {
      pid: 1,
      namespaces:
        opts.hostReadable === false ? failed('denied', '/proc/1/ns: EACCES') : ok(HOST_NS),
      mountinfo:
        opts.hostReadable === false
          ? failed('denied', '/proc/1/mountinfo: EACCES')
          : ok(HOST_MOUNTS),
    },
    sandboxes,
    networks: opts.networks ?? new Map(),
  };
}
