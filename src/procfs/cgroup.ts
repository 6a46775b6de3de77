/**
 * /proc/<pid>/cgroup (cgroups(7); Linux 6.x kernel/cgroup/cgroup.c proc_cgroup_show): one line
 * per hierarchy, `hierarchy-ID:controller-list:cgroup-path` — v1 hierarchies with their
 * controllers (`4:memory:/kubepods/pod…/<id>`), the v2 hierarchy as `0::/…`. Paths are relative to
 * the reader's cgroup namespace, the same for every process one reader reads: they compare.
 * Pure parsers.
 */

export interface CgroupEntry {
  /** `hierarchy-ID:controller-list`, e.g. `4:memory` or `0:` (v2). */
  readonly hierarchy: string;
  /** The cgroup path, `/` for the hierarchy's root. */
  readonly path: string;
}

/** The lines of /proc/<pid>/cgroup; malformed lines are skipped. */
export function parseCgroup(text: string): CgroupEntry[] {
  const out: CgroupEntry[] = [];
  for (const line of text.split('\n')) {
    // The path is everything after the second colon (a cgroup name may hold one).
    const m = /^(\d+:[^:]*):(\/.*)$/.exec(line);
    if (m?.[1] && m[2]) out.push({ hierarchy: m[1], path: m[2] });
  }
  return out;
}

/**
 * The entry that says most about where a process is: the deepest path (a container's own
 * cgroup, not the root of an unused v1 hierarchy); the first of equals. Null when every path is
 * the root (a process in no cgroup of its own).
 */
export function mostSpecific(entries: readonly CgroupEntry[]): CgroupEntry | null {
  let best: CgroupEntry | null = null;
  for (const e of entries) {
    if (e.path === '/') continue;
    if (best === null || depth(e.path) > depth(best.path)) best = e;
  }
  return best;
}

function depth(path: string): number {
  return path.split('/').filter((p) => p !== '').length;
}

/** The path and its ancestors, deepest first (`/a/b` → `/a/b`, `/a`). */
export function ancestry(path: string): string[] {
  const parts = path.split('/').filter((p) => p !== '');
  const out: string[] = [];
  for (let i = parts.length; i > 0; i--) out.push(`/${parts.slice(0, i).join('/')}`);
  return out;
}
