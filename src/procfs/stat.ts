/**
 * /proc/<pid>/stat and /proc/stat, as far as a process's start time goes (proc(5), Linux 6.x:
 * fs/proc/array.c do_task_stat, fs/proc/stat.c). Pure parsers.
 */

/**
 * The kernel's USER_HZ: /proc reports times in these ticks, fixed at 100 on every architecture
 * Linux runs containers on (include/asm-generic/param.h USER_HZ), whatever CONFIG_HZ is.
 */
export const USER_HZ = 100;

/**
 * Field 22 of /proc/<pid>/stat (`starttime`, ticks since boot); null when malformed. The second
 * field is the process name in parentheses, which the process chooses and may hold spaces and
 * `)`: fields are counted after the last `)`.
 */
export function parseStartTicks(stat: string): number | null {
  const end = stat.lastIndexOf(')');
  if (end < 0) return null;
  // After ") " come field 3 (state) onwards; starttime is field 22, the 20th of them.
  const fields = stat
    .slice(end + 1)
    .trim()
    .split(/\s+/);
  const ticks = fields[19];
  return ticks !== undefined && /^\d{1,20}$/.test(ticks) && Number.isSafeInteger(Number(ticks))
    ? Number(ticks)
    : null;
}

/** `btime` of /proc/stat: the boot time, seconds since the epoch; null when absent or malformed. */
export function parseBootTime(procStat: string): number | null {
  const m = /^btime\s+(\d{1,20})$/m.exec(procStat);
  const s = m?.[1] ? Number(m[1]) : null;
  // 20 digits may be past 2^53, where a number is no longer exact: malformed, as in ticks.
  return s !== null && Number.isSafeInteger(s) ? s : null;
}

/** A process's start, milliseconds since the epoch (10 ms ticks on a boot time of 1 s). */
export function startTimeMs(bootTimeS: number, startTicks: number): number {
  return bootTimeS * 1000 + (startTicks * 1000) / USER_HZ;
}
