/** The eight namespace types a process has links for under /proc/<pid>/ns. */
export const NAMESPACE_TYPES = [
  'net',
  'mnt',
  'pid',
  'ipc',
  'uts',
  'user',
  'cgroup',
  'time',
] as const;
export type NamespaceType = (typeof NAMESPACE_TYPES)[number];

/** Inode per namespace type; a type the kernel lacks (e.g. time before 5.6) is absent. */
export type NamespaceSet = Partial<Record<NamespaceType, number>>;

export interface NamespaceLink {
  readonly type: string;
  readonly inode: number;
}

/** Parses a namespace link target such as `net:[4026531840]`; null when malformed. */
export function parseNsLink(target: string): NamespaceLink | null {
  const m = /^([a-z_]+):\[(\d{1,20})\]$/.exec(target.trim());
  if (!m?.[1] || !m[2]) return null;
  const inode = Number(m[2]);
  return Number.isSafeInteger(inode) && inode > 0 ? { type: m[1], inode } : null;
}
