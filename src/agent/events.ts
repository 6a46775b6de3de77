import { errorText } from '../base/errors.js';
import { sleep } from '../base/sleep.js';
import { CriError } from '../cri/errors.js';
import type { RuntimeClient } from '../cri/types.js';
import type { Logger } from '../telemetry/log.js';
import type { Metrics } from '../telemetry/metrics.js';

export interface EventFollowerOptions {
  readonly runtime: RuntimeClient;
  /** Called for every container or pod event (pod events carry the sandbox id). */
  readonly onEvent: () => void;
  /** How often to ask again when the runtime gives no events: the agent polls at this pace. */
  readonly resyncMs: number;
  readonly log: Logger;
  readonly metrics: Metrics;
  /** A stream open this long, or one that brought an event, is a working one (default 1 s). */
  readonly liveAfterMs?: number;
  /** First wait after a failed stream, doubled up to maxBackoffMs (default 1 s and 30 s). */
  readonly backoffMs?: number;
  readonly maxBackoffMs?: number;
}

/** How a stream ended: it worked (events or a long life), it gave nothing, it failed, or we stopped. */
type StreamEnd = 'live' | 'empty' | 'unimplemented' | 'failed' | 'aborted';

/**
 * Follows the runtime's CRI event stream until the signal aborts, reconnecting the way each
 * runtime needs. A stream that ends at once, cleanly, with no event is a runtime that gives
 * none: CRI-O answers GetContainerEvents so unless `enable_pod_events` is on
 * (cri-o v1.34 server/container_events.go). Then the follower says so once, sets
 * `nsreport_cri_events_available` to 0 and asks again only every resync, never in a loop;
 * a failed stream is retried with backoff; an unimplemented one is given up (polling).
 */
export async function followEvents(opts: EventFollowerOptions, signal: AbortSignal): Promise<void> {
  const log = opts.log.child({ module: 'cri-events' });
  const available = opts.metrics.criEventsAvailable;
  const firstBackoff = opts.backoffMs ?? 1000;
  let retryMs = firstBackoff;
  let saidEmpty = false;
  while (!signal.aborted) {
    const end = await oneStream(opts, log, signal);
    if (end === 'aborted') return;
    if (end === 'live') {
      available.set(1);
      saidEmpty = false;
      retryMs = firstBackoff;
      await sleep(firstBackoff, signal);
    } else if (end === 'empty') {
      available.set(0);
      if (!saidEmpty)
        log.info(
          { pollMs: opts.resyncMs },
          'runtime event stream ended with no event (CRI-O without enable_pod_events?): polling every resync',
        );
      saidEmpty = true;
      await sleep(opts.resyncMs, signal);
    } else if (end === 'unimplemented') {
      available.set(0);
      log.info('runtime has no GetContainerEvents: polling every resync');
      return;
    } else {
      available.set(0);
      await sleep(retryMs, signal);
      retryMs = Math.min(retryMs * 2, opts.maxBackoffMs ?? 30_000);
    }
  }
}

/** One GetContainerEvents stream, from open to end. */
async function oneStream(
  opts: EventFollowerOptions,
  log: Logger,
  signal: AbortSignal,
): Promise<StreamEnd> {
  const seen = { events: 0, live: false };
  const liveTimer = setTimeout(() => {
    seen.live = true;
    opts.metrics.criEventsAvailable.set(1);
  }, opts.liveAfterMs ?? 1000);
  try {
    await opts.runtime.watchEvents(() => {
      if (seen.events++ === 0) opts.metrics.criEventsAvailable.set(1);
      opts.onEvent();
    }, signal);
    if (signal.aborted) return 'aborted';
    return seen.live || seen.events > 0 ? 'live' : 'empty';
  } catch (err) {
    if (signal.aborted) return 'aborted';
    if (err instanceof CriError && err.kind === 'unimplemented') return 'unimplemented';
    log.warn({ err: errorText(err) }, 'CRI event stream failed; retrying');
    return 'failed';
  } finally {
    clearTimeout(liveTimer);
  }
}
