/**
 * /proc/<pid>/uid_map and gid_map (user_namespaces(7); kernel/user_namespace.c
 * uid_m_show: `%10u %10u %10u\n` per range, at most 340 ranges since Linux 4.15): the IDs inside
 * the process's user namespace, their first ID in the namespace of the reader (here the host's),
 * and how many. Pure parser.
 */

export interface IdRange {
  /** First ID inside the namespace. */
  readonly inside: number;
  /** First ID it maps to, as the reader's user namespace sees it. */
  readonly outside: number;
  readonly length: number;
}

/** The kernel's limit (UID_GID_MAP_MAX_EXTENTS). */
const MAX_RANGES = 340;
const MAX_ID = 0xffffffff;

/**
 * The ranges of a uid_map or gid_map; null when a line is not three IDs (never a throw). An empty
 * map (not written yet) is an empty list: no ID maps.
 */
export function parseIdMap(text: string): IdRange[] | null {
  const out: IdRange[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const m = /^\s*(\d{1,10})\s+(\d{1,10})\s+(\d{1,10})\s*$/.exec(line);
    if (!m || out.length === MAX_RANGES) return null;
    const [inside, outside, length] = [Number(m[1]), Number(m[2]), Number(m[3])];
    if (inside > MAX_ID || outside > MAX_ID || length > MAX_ID) return null;
    out.push({ inside, outside, length });
  }
  return out;
}

/** The ID an inside ID maps to outside; null when unmapped. */
export function toOutside(map: readonly IdRange[], id: number): number | null {
  for (const r of map)
    if (id >= r.inside && id - r.inside < r.length) return r.outside + (id - r.inside);
  return null;
}

/** The inside ID an outside ID is; null when no range holds it (the kernel shows it as 65534). */
export function toInside(map: readonly IdRange[], id: number): number | null {
  for (const r of map)
    if (id >= r.outside && id - r.outside < r.length) return r.inside + (id - r.outside);
  return null;
}
