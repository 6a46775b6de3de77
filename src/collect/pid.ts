import type { ContainerDetail } from '../cri/types.js';
import { readProcessStart } from '../procfs/reader.js';

/** How far a process's start may lie outside the container's (boot time is to the second). */
const START_SLACK_MS = 2000;

/**
 * Whether the PID the runtime gives is the container's process: `own` when that process started
 * between the container's create and start (runc spawns the init process at create and execs it
 * at start); `stale` when it started before or after — a later process that got the PID of one
 * that exited; `unknown` when the runtime gives no times or the process could not be read.
 */
export type PidVerdict =
  { readonly verdict: 'own' } | { readonly verdict: 'stale' | 'unknown'; readonly reason: string };

/** The verdict on `d.pid` (see PidVerdict), from /proc/<pid>/stat against the CRI times. */
export function checkContainerPid(procRoot: string, d: ContainerDetail): PidVerdict {
  return checkProcessStart(procRoot, d.pid, {
    createdNs: d.createdAt,
    latestNs: d.startedAt,
    what: 'container',
  });
}

/**
 * Whether the process with that PID started between `createdNs` and `latestNs` (ns since the
 * epoch, a runtime's times of the container or sandbox that started it), with the boot time's
 * slack.
 */
export function checkProcessStart(
  procRoot: string,
  pid: number,
  window: { readonly createdNs: number; readonly latestNs: number; readonly what: string },
): PidVerdict {
  const { createdNs, latestNs, what } = window;
  if (createdNs <= 0)
    return { verdict: 'unknown', reason: 'the runtime gives no creation time to check it against' };
  const started = readProcessStart(procRoot, pid);
  if (!started.ok)
    return { verdict: 'unknown', reason: `its start could not be read (${started.detail})` };
  const createdMs = createdNs / 1e6;
  const latestMs = Math.max(latestNs / 1e6, createdMs);
  if (started.value >= createdMs - START_SLACK_MS && started.value <= latestMs + START_SLACK_MS)
    return { verdict: 'own' };
  const at = (ms: number): string => new Date(ms).toISOString();
  return {
    verdict: 'stale',
    reason: `PID ${pid} is not the ${what}'s process (it started ${at(started.value)}; the ${what} was created ${at(createdMs)})`,
  };
}

/**
 * Why the PID is not the container's process, or null. The scanner's rule: only a `stale`
 * verdict counts against a PID; a container without times is not checked, and a process already
 * gone is the next reads' to say.
 */
export function stalePid(procRoot: string, d: ContainerDetail): string | null {
  const v = checkContainerPid(procRoot, d);
  return v.verdict === 'stale' ? v.reason : null;
}
