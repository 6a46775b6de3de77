import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { followEvents } from '../../src/agent/events.js';
import { CriError } from '../../src/cri/errors.js';
import type { RuntimeClient } from '../../src/cri/types.js';
import { createLogger } from '../../src/telemetry/log.js';
import { createMetrics, type Metrics } from '../../src/telemetry/metrics.js';

/** A logger that keeps its lines. */
function memoryLog(): { log: ReturnType<typeof createLogger>; lines: () => string[] } {
  const chunks: string[] = [];
  const sink = new Writable({
    write: (c: Buffer, _e, cb) => {
      chunks.push(c.toString());
      cb();
    },
  });
  return {
    log: createLogger('info', sink),
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => (JSON.parse(l) as { msg: string }).msg),
  };
}

/** A runtime whose every GetContainerEvents call does what `stream` says. */
function runtimeOf(
  stream: (onEvent: () => void, signal: AbortSignal) => Promise<void>,
): RuntimeClient & { calls: number } {
  const r = {
    calls: 0,
    watchEvents(onEvent: () => void, signal: AbortSignal): Promise<void> {
      r.calls++;
      return stream(onEvent, signal);
    },
  };
  return r as unknown as RuntimeClient & { calls: number };
}

async function available(m: Metrics): Promise<number | undefined> {
  return (await m.criEventsAvailable.get()).values[0]?.value;
}

/** Runs the follower for `ms`, then aborts it; resolves with how long it took to stop. */
async function followFor(
  runtime: RuntimeClient,
  ms: number,
  extra: { resyncMs?: number; metrics?: Metrics; log?: ReturnType<typeof createLogger> } = {},
): Promise<number> {
  const ac = new AbortController();
  const done = followEvents(
    {
      runtime,
      onEvent: () => undefined,
      resyncMs: extra.resyncMs ?? 30_000,
      log: extra.log ?? memoryLog().log,
      metrics: extra.metrics ?? createMetrics(),
      liveAfterMs: 50,
    },
    ac.signal,
  );
  await new Promise((r) => setTimeout(r, ms));
  const t0 = Date.now();
  ac.abort();
  await done;
  return Date.now() - t0;
}

test('a stream that ends at once with no event (CRI-O without pod events) is not reopened in a loop', async () => {
  const runtime = runtimeOf(() => Promise.resolve());
  const metrics = createMetrics();
  const { log, lines } = memoryLog();
  await followFor(runtime, 300, { metrics, log });
  assert.equal(runtime.calls, 1, 'asked again only after a resync');
  assert.equal(await available(metrics), 0);
  assert.equal(lines().filter((l) => l.startsWith('runtime event stream ended')).length, 1);
});

test('with no events, the stream is asked for again every resync and said unavailable once', async () => {
  const runtime = runtimeOf(() => Promise.resolve());
  const { log, lines } = memoryLog();
  await followFor(runtime, 230, { resyncMs: 50, log });
  assert.ok(runtime.calls >= 3 && runtime.calls <= 6, `calls: ${runtime.calls}`);
  assert.equal(lines().filter((l) => l.startsWith('runtime event stream ended')).length, 1);
});

test('a stream that brings events is followed, and reopened after it ends', async () => {
  let events = 0;
  const runtime = runtimeOf((onEvent) => {
    onEvent();
    events++;
    return Promise.resolve();
  });
  const metrics = createMetrics();
  await followFor(runtime, 150, { metrics });
  assert.equal(runtime.calls, 1, 'reopened after a second, not at once');
  assert.equal(events, 1);
  assert.equal(await available(metrics), 1);
});

test('a stream that stays open is available after a while', async () => {
  const runtime = runtimeOf(
    (_e, signal) =>
      new Promise((resolve) => {
        signal.addEventListener('abort', () => {
          resolve();
        });
      }),
  );
  const metrics = createMetrics();
  const ac = new AbortController();
  const done = followEvents(
    {
      runtime,
      onEvent: () => undefined,
      resyncMs: 30_000,
      log: memoryLog().log,
      metrics,
      liveAfterMs: 20,
    },
    ac.signal,
  );
  await new Promise((r) => setTimeout(r, 80));
  assert.equal(await available(metrics), 1);
  ac.abort();
  await done;
});

test('the follower stops within 100 ms of abort while the stream keeps failing', async () => {
  const fail = (): Promise<void> =>
    Promise.reject(
      new CriError({
        kind: 'unavailable',
        method: 'GetContainerEvents',
        endpoint: 'x',
        detail: 'down',
      }),
    );
  const runtime = runtimeOf(fail);
  // Long enough for the backoff to reach several seconds is not needed: any pending wait
  // must end with the signal.
  const took = await followFor(runtime, 1200);
  assert.ok(took < 100, `stopped after ${took} ms`);
  assert.equal(runtime.calls, 2, 'retried after 1 s, then waiting 2 s');
});

test('a runtime without GetContainerEvents is given up at once', async () => {
  const runtime = runtimeOf(() =>
    Promise.reject(
      new CriError({
        kind: 'unimplemented',
        method: 'GetContainerEvents',
        endpoint: 'x',
        detail: '',
      }),
    ),
  );
  const metrics = createMetrics();
  await followFor(runtime, 100, { metrics });
  assert.equal(runtime.calls, 1);
  assert.equal(await available(metrics), 0);
});
