/**
 * Client-side token bucket (the `--qps` / `--burst` of client-go): `take()` resolves when a
 * request may go out.
 */
export interface RateLimiter {
  take(signal?: AbortSignal): Promise<void>;
}

export interface RateLimiterOptions {
  readonly qps: number;
  readonly burst: number;
  readonly now?: () => number;
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        reject(signal.reason as Error);
      },
      { once: true },
    );
  });
}

export function createRateLimiter(opts: RateLimiterOptions): RateLimiter {
  const now = opts.now ?? Date.now;
  const sleep = opts.sleep ?? defaultSleep;
  let tokens = opts.burst;
  let last = now();
  // Requests queue in order: each waits for the one before it.
  let queue: Promise<void> = Promise.resolve();

  function refill(): void {
    const t = now();
    tokens = Math.min(opts.burst, tokens + ((t - last) / 1000) * opts.qps);
    last = t;
  }

  async function takeOne(signal?: AbortSignal): Promise<void> {
    refill();
    while (tokens < 1) {
      await sleep(Math.ceil(((1 - tokens) / opts.qps) * 1000), signal);
      refill();
    }
    tokens -= 1;
  }

  return {
    take(signal?: AbortSignal): Promise<void> {
      const next = queue.then(() => takeOne(signal));
      queue = next.catch(() => undefined);
      return next;
    },
  };
}
