/** One line of /proc/<pid>/mountinfo (proc(5)), every field kept. */
export interface MountInfo {
  readonly mountId: number;
  readonly parentId: number;
  readonly majorMinor: string;
  /** Root of the mount within its filesystem (for a bind mount: the bound directory). */
  readonly root: string;
  /** Mount point relative to the process's root. */
  readonly mountPoint: string;
  readonly mountOptions: readonly string[];
  /** Optional fields such as `shared:1`, `master:2`, `propagate_from:2`, `unbindable`. */
  readonly optionalFields: readonly string[];
  readonly fsType: string;
  readonly source: string;
  readonly superOptions: readonly string[];
}

/** Propagation type as findmnt names it. */
export type ObservedPropagation = 'shared' | 'slave' | 'shared+slave' | 'private' | 'unbindable';

/** Undoes the kernel's octal escapes (`\040` space, `\011` tab, `\012` newline, `\134` backslash). */
export function unescapeOctal(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** Fields 1–6 must be: two integers, major:minor, two paths, options. */
const HEAD = /^(\d+) (\d+) (\d+:\d+) (\S+) (\S+) (\S+)$/;

function decode(s: string): string {
  return s.includes('\\') ? unescapeOctal(s) : s;
}

function parseLine(line: string): MountInfo | null {
  const parts = line.split(' ');
  const sep = parts.indexOf('-', 6);
  if (sep < 0 || parts.length < sep + 3) return null;
  const head = HEAD.exec(parts.slice(0, 6).join(' '));
  if (!head) return null;
  const [, id, parent, majorMinor, root, mountPoint, options] = head as unknown as string[];
  return {
    mountId: Number(id),
    parentId: Number(parent),
    majorMinor: majorMinor as string,
    root: decode(root as string),
    mountPoint: decode(mountPoint as string),
    mountOptions: (options as string).split(','),
    optionalFields: parts.slice(6, sep).filter((f) => f !== ''),
    fsType: parts[sep + 1] ?? '',
    source: decode(parts[sep + 2] ?? ''),
    superOptions: (parts[sep + 3] ?? '').split(',').filter((o) => o !== ''),
  };
}

/** The (decoded) mount point of a line, found without splitting the whole line. */
function mountPointOf(line: string): string | null {
  let at = -1;
  for (let i = 0; i < 4; i++) {
    at = line.indexOf(' ', at + 1);
    if (at < 0) return null;
  }
  const end = line.indexOf(' ', at + 1);
  return end < 0 ? null : decode(line.slice(at + 1, end));
}

/**
 * Parses mountinfo text; malformed or truncated lines are skipped, never thrown on. With `keep`,
 * only lines whose mount point it accepts are parsed in full: a scan needs a handful of mount
 * points out of each table, and parsing is most of the CPU of a steady-state scan.
 */
export function parseMountinfo(text: string, keep?: (mountPoint: string) => boolean): MountInfo[] {
  const out: MountInfo[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (keep) {
      const mp = mountPointOf(line);
      if (mp === null || !keep(mp)) continue;
    }
    const entry = parseLine(line);
    if (entry) out.push(entry);
  }
  return out;
}

/** The propagation findmnt would print for this mount, from its optional fields. */
export function propagationOf(m: Pick<MountInfo, 'optionalFields'>): ObservedPropagation {
  let shared = false;
  let slave = false;
  for (const f of m.optionalFields) {
    if (f.startsWith('shared:')) shared = true;
    else if (f.startsWith('master:')) slave = true;
    else if (f === 'unbindable') return 'unbindable';
  }
  if (shared && slave) return 'shared+slave';
  if (shared) return 'shared';
  return slave ? 'slave' : 'private';
}

/** The mount that is visible at `path`: the last one mounted exactly there (it hides the others). */
export function mountAt(mounts: readonly MountInfo[], path: string): MountInfo | undefined {
  for (let i = mounts.length - 1; i >= 0; i--) {
    const m = mounts[i];
    if (m?.mountPoint === path) return m;
  }
  return undefined;
}

/** Whether `path` is `mountPoint` or below it. */
export function isUnder(path: string, mountPoint: string): boolean {
  if (mountPoint === '/') return path.startsWith('/');
  return path === mountPoint || path.startsWith(mountPoint + '/');
}

/**
 * Every directory that is one of `paths` or above one: the mount points that can hold them
 * (isUnder(path, mp) ⇔ mp is in the set), one Set lookup per host mount instead of a scan of
 * every source.
 */
export function mountPointsHolding(paths: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const p of paths) {
    if (p.startsWith('/')) out.add('/');
    for (let at = p.indexOf('/', 1); at > 0; at = p.indexOf('/', at + 1)) out.add(p.slice(0, at));
    out.add(p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p);
  }
  return out;
}

/** The mount that contains `path` (longest mount point prefix; the later one wins a tie). */
export function mountContaining(mounts: readonly MountInfo[], path: string): MountInfo | undefined {
  let best: MountInfo | undefined;
  for (const m of mounts) {
    if (isUnder(path, m.mountPoint) && (!best || m.mountPoint.length >= best.mountPoint.length)) {
      best = m;
    }
  }
  return best;
}

/**
 * Where the kernel shows a host path in another mount table: the mount points whose filesystem
 * (major:minor) and root within it are the host path's, as the host's table places it. What a
 * runtime's bind of a volume is in a container's mountinfo, whatever symlinks its image put on
 * the way to the destination — found without a lookup in the container's file system, which a
 * hung volume would freeze. Empty when the host's table does not hold the path.
 */
export function boundAt(
  hostPath: string,
  hostMounts: readonly MountInfo[],
  mounts: readonly MountInfo[],
): string[] {
  const holder = mountContaining(hostMounts, hostPath);
  if (!holder) return [];
  const rest = holder.mountPoint === '/' ? hostPath : hostPath.slice(holder.mountPoint.length);
  const root = `${holder.root === '/' ? '' : holder.root}${rest}`.replace(/\/+$/, '') || '/';
  return mounts
    .filter((m) => m.majorMinor === holder.majorMinor && m.root === root)
    .map((m) => m.mountPoint);
}
