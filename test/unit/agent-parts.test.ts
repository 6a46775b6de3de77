import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { createHealth, liveness, readiness, type HealthState } from '../../src/agent/health.js';
import { createReportReconciler } from '../../src/agent/reconciler.js';
import { createSchedule, nextBackoff, waitMs } from '../../src/agent/schedule.js';
import { ApiError } from '../../src/k8s/errors.js';
import type { ReportCache } from '../../src/k8s/store.js';
import { inspect } from '../../src/inspect/inspect.js';
import { buildReport } from '../../src/report/report.js';
import type { NamespaceReport } from '../../src/report/types.js';
import { createLogger } from '../../src/telemetry/log.js';
import { createMetrics } from '../../src/telemetry/metrics.js';
import { memoryStore } from './memory-store.js';
import { sample, sandbox, snapshot } from './snapshot.js';

/** The agent's parts on their own (the loop that wires them: agent.test.ts). */

const fine: HealthState = {
  firstScanDone: true,
  runtimeOk: true,
  runtimeFailingSince: null,
  apiOk: true,
  lastProgress: 1_000,
  reportsListed: true,
};
const limits = { idleMs: 70_000, runtimeDeadlineMs: 90_000 };

test('liveness: a stuck loop or a runtime down past its deadline fails; anything else passes', () => {
  const cases: [string, Partial<HealthState>, number, boolean, RegExp][] = [
    ['all well', {}, 2_000, true, /loop running/],
    ['API down is not a restart', { apiOk: false }, 2_000, true, /loop running/],
    ['idle just under the limit', {}, 70_999, true, /loop running/],
    ['idle at the limit', {}, 71_000, false, /no progress for 70s/],
    [
      'runtime down under its deadline',
      { runtimeFailingSince: 0, lastProgress: 89_000 },
      89_999,
      true,
      /loop running/,
    ],
    [
      'runtime down past its deadline',
      { runtimeFailingSince: 0, lastProgress: 90_000 },
      90_000,
      false,
      /container runtime unreachable for 90s/,
    ],
  ];
  for (const [what, change, now, ok, reason] of cases) {
    const p = liveness({ ...fine, ...change }, now, limits);
    assert.equal(p.ok, ok, what);
    assert.match(p.reason, reason, what);
  }
});

test('readiness: first scan, runtime, listed reports and API, in that order', () => {
  const cases: [Partial<HealthState>, boolean, string][] = [
    [{}, true, 'scanning and writing'],
    [{ firstScanDone: false, apiOk: false }, false, 'first scan not done'],
    [{ runtimeOk: false, reportsListed: false }, false, 'container runtime unreachable'],
    [{ reportsListed: false, apiOk: false }, false, 'reports of this node not listed yet'],
    [{ apiOk: false }, false, 'Kubernetes API unreachable'],
  ];
  for (const [change, ok, reason] of cases)
    assert.deepEqual(readiness({ ...fine, ...change }), { ok, reason });
});

test('health: a runtime failure starts the deadline once; a listing ends it; API refusals count', () => {
  let t = 0;
  const h = createHealth({ now: () => t, limits, reportsListed: () => true });
  assert.equal(h.probes.ready().reason, 'first scan not done');
  h.runtime(true);
  h.api(null);
  assert.equal(h.probes.ready().ok, true);
  t = 10_000;
  h.runtime(false);
  t = 50_000;
  h.runtime(false);
  h.progress();
  t = 100_000;
  assert.match(h.probes.healthy().reason, /unreachable for 90s/, 'counted from the first failure');
  h.runtime(true);
  assert.equal(h.probes.healthy().ok, true);
  const e = h.api(new ApiError({ kind: 'forbidden', status: 403, detail: 'no' }));
  assert.equal(e?.kind, 'forbidden');
  assert.equal(h.probes.ready().reason, 'Kubernetes API unreachable');
  h.api(new ApiError({ kind: 'conflict', status: 409, detail: 'rv' }));
  assert.equal(h.probes.ready().reason, 'Kubernetes API unreachable', 'a conflict says nothing');
  h.api(null);
  assert.equal(h.probes.ready().ok, true);
});

test('backoff: none after a clean pass, doubling from 1 s to 30 s, never past the next scan', () => {
  const seq: number[] = [];
  let b = 0;
  for (const clean of [false, false, false, false, false, false, false, true, false]) {
    b = nextBackoff(b, clean);
    seq.push(b);
  }
  assert.deepEqual(seq, [1000, 2000, 4000, 8000, 16000, 30000, 30000, 0, 1000]);
  assert.equal(waitMs(0, 5000), 5000, 'clean: until the resync');
  assert.equal(waitMs(1000, 5000), 1000);
  assert.equal(waitMs(8000, 5000), 5000, 'the resync comes first');
  assert.equal(waitMs(1000, -20), 0, 'a scan overdue: at once');
});

test('schedule: a scan on start and each resync; an event asks for a pass, a CRI event a scan', async () => {
  let t = 0;
  const s = createSchedule({ now: () => t, resyncMs: 1000, debounceMs: 1 });
  const signal = new AbortController().signal;
  assert.equal(s.takeScan(), true, 'on start');
  assert.equal(s.takeScan(), false);
  t = 999;
  assert.equal(s.takeScan(), false);
  t = 1000;
  assert.equal(s.takeScan(), true, 'the resync');
  s.soon(false);
  s.soon(false);
  const t0 = Date.now();
  await s.next(true, signal);
  assert.ok(Date.now() - t0 < 500, 'woken by the event, not the 1 s resync');
  assert.equal(s.takeScan(), false, 'a watch event asks for no scan');
  s.soon(true);
  await s.next(true, signal);
  assert.equal(s.takeScan(), true, 'a CRI event does');
  const ac = new AbortController();
  const waiting = s.next(false, ac.signal);
  ac.abort();
  await waiting;
  s.close();
});

const quiet = createLogger(
  'error',
  new Writable({
    write: (_c, _e, cb) => {
      cb();
    },
  }),
);

function wanted(...names: string[]): Map<string, NamespaceReport> {
  const snap = snapshot(
    names.map((name, i) =>
      sandbox([sample('c', { sandboxId: `sb-${name}` })], { name, id: `sb-${name}`, createdAt: i }),
    ),
  );
  return new Map(
    inspect(snap).map((p) => {
      const r = buildReport(p, null);
      return [`${r.metadata.namespace}/${r.metadata.name}`, r];
    }),
  );
}

function reconciler(store: ReturnType<typeof memoryStore>) {
  let t = 0;
  const health = createHealth({ now: () => ++t, limits, reportsListed: () => true });
  const r = createReportReconciler({
    store,
    node: 'node-1',
    log: quiet,
    metrics: createMetrics(),
    health,
  });
  health.runtime(true);
  return { r, health };
}

test('reconciler: writes what the API lacks, deletes only after a complete listing, counts writes', async () => {
  const store = memoryStore();
  const held = store.watchNodeReports(
    'node-1',
    { onChange() {}, onRestart() {} },
    new AbortController().signal,
  );
  const { r, health } = reconciler(store);
  const signal = new AbortController().signal;
  assert.equal(await r.converge(wanted('a', 'b'), held, true, signal), true);
  assert.deepEqual(store.log.splice(0), ['apply shop/a', 'apply shop/b']);
  assert.equal(r.writes, 2);
  assert.equal(await r.converge(wanted('a', 'b'), held, true, signal), true);
  assert.deepEqual(store.log, [], 'nothing changed: nothing written');
  assert.equal(await r.converge(wanted('a'), held, false, signal), false, 'an incomplete listing');
  assert.deepEqual(store.log, [], 'never deletes');
  assert.equal(await r.converge(wanted('a'), held, true, signal), true);
  assert.deepEqual(store.log.splice(0), ['delete shop/b']);
  store.down = true;
  assert.equal(await r.converge(wanted('a', 'c'), held, true, signal), false);
  assert.equal(health.probes.ready().reason, 'Kubernetes API unreachable');
  store.down = false;
  const unsynced: ReportCache = { synced: false, get: () => undefined, list: () => [] };
  assert.equal(await r.converge(wanted('c'), unsynced, true, signal), false, 'not listed yet');
  assert.deepEqual(store.log, [], 'nothing written before the listing');
});
