import type { ContainerDetail, DeclaredMount, GroupIds } from '../cri/types.js';
import { toInside, toOutside, type IdRange } from '../procfs/idmap.js';
import { mountAt, type MountInfo } from '../procfs/mountinfo.js';
import type { ProcessIdentity } from '../procfs/reader.js';
import type { ReadResult } from '../procfs/result.js';

/**
 * What the kernel shows of the newer isolation features, beside what the pod asked for: user
 * namespaces (KEP-127), recursive read-only mounts (KEP-3857), the masked /proc (ProcMount,
 * KEP-4265) and the groups of a container's first process (SupplementalGroupsPolicy, KEP-3619).
 * Pure: from what the scanner read.
 */

/** A container's own user namespace, as its first process's maps say. */
export interface UserNamespaceObservation {
  readonly uidMap: readonly IdRange[];
  readonly gidMap: readonly IdRange[];
  /** The host uid container root (uid 0) is; null when uid 0 is not mapped. */
  readonly rootUid: number | null;
}

/**
 * The container's user namespace when it has its own (`user` not shared with the host and the
 * maps read): its maps and where its root lands. undefined otherwise.
 */
export function observeUserNamespace(
  identity: ReadResult<ProcessIdentity> | undefined,
): UserNamespaceObservation | undefined {
  if (!identity?.ok || identity.value.uidMap === undefined) return undefined;
  const { uidMap, gidMap = [] } = identity.value;
  return { uidMap, gidMap, rootUid: toOutside(uidMap, 0) };
}

/**
 * The host uid container root runs as: 0 in the host's user namespace, its map's in its own;
 * null when not known (a map unread) or root is unmapped.
 */
export function rootHostUid(
  userShared: 'true' | 'false' | 'unknown' | undefined,
  userns: UserNamespaceObservation | undefined,
): number | null {
  if (userShared === 'true') return 0;
  return userns === undefined ? null : userns.rootUid;
}

/** The groups of a container's first process, as IDs inside the container. */
export interface GroupsObservation {
  readonly gid: number | null;
  /** Supplementary groups, sorted. */
  readonly supplementary: readonly number[];
  /**
   * Those the pod did not ask for (runAsGroup, supplementalGroups, fsGroup): from the image's
   * /etc/group. Absent when the runtime does not say what was asked (CRI-O).
   */
  readonly fromImage?: readonly number[];
}

/** The kernel shows an unmapped ID as the overflow ID (include/linux/highuid.h). */
const OVERFLOW_GID = 65534;

/**
 * The groups `/proc/<pid>/status` shows (host IDs), mapped back into the container when it has
 * its own user namespace, and those the pod's config did not ask for.
 */
export function observeGroups(
  identity: ReadResult<ProcessIdentity> | undefined,
  declared: GroupIds | null | undefined,
): GroupsObservation | undefined {
  if (!identity?.ok) return undefined;
  const { gid, groups, gidMap } = identity.value;
  const inside = (id: number): number =>
    gidMap === undefined ? id : (toInside(gidMap, id) ?? OVERFLOW_GID);
  const supplementary = [...new Set(groups.map(inside))].sort((a, b) => a - b);
  const own = inside(gid);
  if (declared === null || declared === undefined) return { gid: own, supplementary };
  const asked = new Set([
    ...declared.supplementary,
    ...(declared.gid === null ? [] : [declared.gid]),
  ]);
  const fromImage = supplementary.filter((g) => !asked.has(g) && g !== own);
  return { gid: own, supplementary, fromImage };
}

/** Whether the groups say anything beyond the default (a process in its own group only). */
export function groupsWorthSaying(g: GroupsObservation): boolean {
  return (g.fromImage?.length ?? 0) > 0 || g.supplementary.some((id) => id !== g.gid);
}

/**
 * The /proc paths made read-only by default: what the kubelet sends as CRI `readonly_paths` for
 * `procMount: Default` (pkg/securitycontext/util.go, captured from kubelet v1.35.4 in
 * test/fixtures/isolation/plain): each a read-only bind mount of its own in the container's mount
 * table. `Unmasked` sends none, and a runtime given none masks nothing (containerd 1.6 and 2.2); a
 * privileged container has none either.
 */
export const READONLY_PROC_PATHS = [
  '/proc/bus',
  '/proc/fs',
  '/proc/irq',
  '/proc/sys',
  '/proc/sysrq-trigger',
] as const;

/**
 * The masked paths (CRI `masked_paths`, the same source): a bind of /dev/null (tmpfs, or devtmpfs
 * in a user namespace) or an empty read-only tmpfs over each; a kernel's missing ones skipped.
 */
export const MASKED_PATHS = [
  '/proc/asound',
  '/proc/acpi',
  '/proc/interrupts',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
  '/sys/devices/virtual/powercap',
] as const;

const PROC_MOUNT_PATHS = new Set<string>(['/proc', ...READONLY_PROC_PATHS, ...MASKED_PATHS]);

/** The mount points the /proc observation reads from a container's mount table. */
export function isProcMountPath(mountPoint: string): boolean {
  return PROC_MOUNT_PATHS.has(mountPoint);
}

export type ProcMountObservation = 'Default' | 'Unmasked' | 'unknown';

function readOnly(m: MountInfo): boolean {
  return m.mountOptions.includes('ro');
}

/**
 * `Default` when /proc/sys (on every kernel; a runtime skips the paths a kernel lacks, such as
 * /proc/sysrq-trigger without CONFIG_MAGIC_SYSRQ) is a read-only mount of its own, `Unmasked`
 * when no default path is covered at all; `unknown` when the mount table is unread, has no
 * /proc, or is between the two (either word would be a guess).
 */
export function observeProcMount(mounts: ReadResult<MountInfo[]> | null): ProcMountObservation {
  if (!mounts?.ok) return 'unknown';
  const proc = mountAt(mounts.value, '/proc');
  if (proc === undefined || proc.fsType !== 'proc') return 'unknown';
  // A read-only bind of proc itself: another read-only mount there would hide nothing.
  const sys = mountAt(mounts.value, '/proc/sys');
  if (sys && readOnly(sys) && sys.fsType === 'proc') return 'Default';
  const covered = [...READONLY_PROC_PATHS, ...MASKED_PATHS].some(
    (p) => mountAt(mounts.value, p) !== undefined,
  );
  return covered ? 'unknown' : 'Unmasked';
}

/** The idmapped flag of the mount at a container path (mountinfo field 6, Linux ≥ 5.12). */
export function idmappedAt(mounts: ReadResult<MountInfo[]> | null, path: string): boolean {
  if (!mounts?.ok) return false;
  return mountAt(mounts.value, path)?.mountOptions.includes('idmapped') ?? false;
}

/**
 * What a runtime mounts in every container beside the declared mounts (containerd and CRI-O:
 * the kubelet's hosts, hostname and resolv.conf files, /dev's and the cgroup tree): the
 * container's own, wherever a read-only volume is.
 */
const RUNTIME_DESTINATIONS = [
  '/etc/hosts',
  '/etc/hostname',
  '/etc/resolv.conf',
  '/dev/termination-log',
  '/dev/shm',
  '/dev/pts',
  '/dev/mqueue',
  '/sys/fs/cgroup',
];

/** The longest path the CRD takes (PATH_MAX); the kernel shows longer ones. */
const MAX_PATH = 4096;

/**
 * The writable mounts below a read-only volume's mount (`recursiveReadOnly` not in effect): each
 * a place the pod may write although the volume says read-only. Below means a descendant of the
 * volume's top mount (by parent id, not by path: a mount the volume covers is out of reach). A
 * sub-mount that is one of the container's declared mounts, or the runtime's own, is the
 * container's, not listed; a path longer than PATH_MAX is cut to it (marked with "…").
 */
export function writableSubmounts(
  mounts: ReadResult<MountInfo[]> | null,
  at: string,
  declared: readonly string[],
): string[] {
  if (!mounts?.ok) return [];
  const volume = mountAt(mounts.value, at);
  if (volume === undefined) return [];
  const own = new Set([...declared, ...RUNTIME_DESTINATIONS]);
  // The mount table lists a parent before its children.
  const below = new Set([volume.mountId]);
  const top = new Map<string, MountInfo>();
  for (const m of mounts.value) {
    if (m.mountId === volume.mountId || !below.has(m.parentId)) continue;
    below.add(m.mountId);
    top.set(m.mountPoint, m);
  }
  return [...top.values()]
    .filter((m) => !readOnly(m) && !own.has(m.mountPoint))
    .map((m) =>
      m.mountPoint.length > MAX_PATH ? `${m.mountPoint.slice(0, MAX_PATH - 1)}…` : m.mountPoint,
    )
    .sort();
}

/** The declared mounts of a container that read-only sub-mount checks apply to. */
export function readOnlyDestinations(
  detail: Pick<ContainerDetail, 'mounts'> | null,
  resolved: ReadonlyMap<string, string> | undefined,
): string[] {
  return (detail?.mounts ?? [])
    .filter((m: DeclaredMount) => m.readOnly)
    .map((m) => resolved?.get(m.containerPath) ?? m.containerPath);
}

/**
 * Runtime handlers that run a pod in a sandbox of its own — gVisor (`runsc`, its documented
 * containerd handler name) and Kata Containers (`kata`, `kata-qemu`, `kata-clh`, `kata-fc`, …, as
 * its containerd and CRI-O configurations name them), Firecracker: the host PID the runtime gives
 * is the sandbox's (a user-space kernel or a VM monitor), not the workload's, so its namespaces
 * and mounts are not the container's. A pod picks a handler only through a RuntimeClass an admin
 * made, so a pod cannot claim one it is not given.
 */
const SANDBOXED_HANDLER = /^(runsc|gvisor|kata|kata-[a-z0-9-]+|firecracker)$/;

/**
 * The shim types of the same runtimes, whatever the admin named the handler (containerd's
 * verbose sandbox info `runtimeType`): `io.containerd.runsc.v1`, `io.containerd.kata.v2` (and
 * `io.containerd.kata-qemu.v2`, …), `aws.firecracker`.
 */
const SANDBOXED_TYPE = /^(io\.containerd\.(runsc|kata(-[a-z0-9-]+)?)\.v\d+|aws\.firecracker)$/;

/** Whether a sandbox runs in a sandboxing runtime: by its shim type, else by its handler's name. */
export function isSandboxed(handler: string, runtimeType: string | undefined): boolean {
  return SANDBOXED_TYPE.test(runtimeType ?? '') || SANDBOXED_HANDLER.test(handler);
}
