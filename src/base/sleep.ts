import { setTimeout as sleepFor } from 'node:timers/promises';

/**
 * Resolves after `ms`, or at once when the signal aborts (never rejects): the one wait of the
 * agent's retry loops, whose callers look at the signal next.
 */
export async function sleep(ms: number, signal: AbortSignal): Promise<void> {
  try {
    await sleepFor(ms, undefined, { signal });
  } catch {
    // Aborted: the caller's loop sees the signal.
  }
}
