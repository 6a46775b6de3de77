import { appendFileSync, readFileSync } from 'node:fs';

/**
 * Resident memory of a process now and at its peak, in MiB (/proc/<pid>/status), and of now
 * what is anonymous (heap, stacks) and file-backed (pages of the node binary and libraries).
 */
export function memory(pid: number): { rss: number; hwm: number; anon: number; file: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (k: string): number =>
    Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
  return {
    rss: kib('VmRSS') / 1024,
    hwm: kib('VmHWM') / 1024,
    anon: kib('RssAnon') / 1024,
    file: kib('RssFile') / 1024,
  };
}

/**
 * How many times the process's main thread has gone to sleep and been woken (its voluntary
 * context switches, /proc/<pid>/task/<pid>/status): an idle event loop's timers and I/O.
 */
export function wakeups(pid: number): number {
  const status = readFileSync(`/proc/${pid}/task/${pid}/status`, 'utf8');
  return Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(status)?.[1] ?? 0);
}

/**
 * Records one measured figure for the targets table (bench/targets.ts) in $BENCH_RESULTS, a
 * file of JSON lines; nothing when the variable is unset (a part run alone).
 */
export function record(key: string, value: number): void {
  const file = process.env.BENCH_RESULTS;
  if (file) appendFileSync(file, JSON.stringify({ key, value }) + '\n');
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}
