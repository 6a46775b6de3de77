/**
 * When the agent's loop runs a pass, and whether the pass scans: on start, on a CRI event, every
 * resync; a watch event asks for a pass without a scan. Bursts of events are coalesced
 * (debounced) into one pass; a pass that left work undone is retried with a doubling backoff,
 * never later than the next resync. Every wait ends at once when the signal aborts.
 */
export interface Schedule {
  /** An event: a pass soon (with a scan when `rescan`), bursts coalesced into one. */
  soon(rescan: boolean): void;
  /** Whether this pass scans (asked for, or the resync is due); the next resync counts from now. */
  takeScan(): boolean;
  /** Waits for the next pass, given whether this one left nothing to do. */
  next(clean: boolean, signal: AbortSignal): Promise<void>;
  /** Drops a pending debounce (the loop has ended). */
  close(): void;
}

const MAX_BACKOFF_MS = 30_000;

/** The wait before retrying a pass: none after a clean one, else doubling from 1 s to 30 s. */
export function nextBackoff(previousMs: number, clean: boolean): number {
  return clean ? 0 : Math.min(Math.max(previousMs * 2, 1000), MAX_BACKOFF_MS);
}

/** How long to wait: the backoff when there is one, never past the next scan. */
export function waitMs(backoffMs: number, untilScanMs: number): number {
  const untilScan = Math.max(untilScanMs, 0);
  return backoffMs > 0 ? Math.min(backoffMs, untilScan) : untilScan;
}

/** Resolves after `ms`, or earlier when `wake` is called (before or during) or the signal aborts. */
function waiter(): { wait(ms: number, signal: AbortSignal): Promise<void>; wake(): void } {
  let release: (() => void) | null = null;
  let woken = false;
  return {
    wait(ms, signal) {
      if (woken || signal.aborted) {
        woken = false;
        return Promise.resolve();
      }
      return new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          signal.removeEventListener('abort', done);
          release = null;
          woken = false;
          resolve();
        };
        const timer = setTimeout(done, ms);
        signal.addEventListener('abort', done, { once: true });
        release = done;
      });
    },
    wake() {
      woken = true;
      release?.();
    },
  };
}

export function createSchedule(o: {
  readonly now: () => number;
  readonly resyncMs: number;
  readonly debounceMs: number;
}): Schedule {
  let scanRequested = true;
  let nextScanAt = 0;
  let backoffMs = 0;
  let debounce: NodeJS.Timeout | null = null;
  const trigger = waiter();
  return {
    soon(rescan) {
      if (rescan) scanRequested = true;
      if (debounce) return;
      debounce = setTimeout(() => {
        debounce = null;
        trigger.wake();
      }, o.debounceMs);
    },
    takeScan() {
      if (!scanRequested && o.now() < nextScanAt) return false;
      scanRequested = false;
      nextScanAt = o.now() + o.resyncMs;
      return true;
    },
    next(clean, signal) {
      backoffMs = nextBackoff(backoffMs, clean);
      return trigger.wait(waitMs(backoffMs, nextScanAt - o.now()), signal);
    },
    close() {
      if (debounce) clearTimeout(debounce);
      debounce = null;
    },
  };
}
