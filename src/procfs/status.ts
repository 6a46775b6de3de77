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
