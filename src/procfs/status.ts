/**
 * /proc/<pid>/status, as far as capabilities go (proc(5), Linux 6.x: fs/proc/array.c
 * render_cap_t: `CapEff:\t` and 16 hex digits). Pure parser.
 */

/** include/uapi/linux/capability.h: mount(2) and umount(2) need it. */
export const CAP_SYS_ADMIN = 21;

/** The effective capability set (`CapEff`); null when the line is absent or malformed. */
export function parseEffectiveCapabilities(status: string): bigint | null {
  const m = /^CapEff:\s*([0-9a-f]{1,16})$/m.exec(status);
  return m?.[1] ? BigInt(`0x${m[1]}`) : null;
}

/** Whether capability number `cap` is in the set. */
export function hasCapability(set: bigint, cap: number): boolean {
  return ((set >> BigInt(cap)) & 1n) === 1n;
}

/** The process's group IDs, as the reader's user namespace sees them (`Gid:` and `Groups:`). */
export interface StatusGroups {
  /** The effective GID (the second of `Gid:`). */
  readonly gid: number;
  /** The supplementary groups, sorted, without duplicates. */
  readonly groups: readonly number[];
}

/**
 * `Gid:\t<real>\t<effective>\t<saved>\t<fs>` and `Groups:\t<id> <id> …` (fs/proc/array.c
 * task_state, Linux 6.x; `Groups:` may be empty). null when either line is absent or malformed.
 */
export function parseStatusGroups(status: string): StatusGroups | null {
  const gid = /^Gid:\s+\d+\s+(\d{1,10})\s/m.exec(status);
  const groups = /^Groups:[ \t]*([\d \t]*)$/m.exec(status);
  if (!gid?.[1] || groups?.[1] === undefined) return null;
  const ids = groups[1]
    .trim()
    .split(/\s+/)
    .filter((g) => g !== '')
    .map(Number)
    .filter((g) => g <= 0xffffffff);
  return { gid: Number(gid[1]), groups: [...new Set(ids)].sort((a, b) => a - b) };
}
