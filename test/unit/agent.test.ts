import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { createAgent } from '../../src/agent/agent.js';
import type { ScanResult, Scanner } from '../../src/collect/scanner.js';
import { CriError } from '../../src/cri/errors.js';
import type { RuntimeClient } from '../../src/cri/types.js';
import { inspect } from '../../src/inspect/inspect.js';
import type { PodInspection } from '../../src/inspect/types.js';
import { ApiError } from '../../src/k8s/errors.js';
import { storedReport, type ReportStore, type StoredReport } from '../../src/k8s/store.js';
import { createLogger } from '../../src/telemetry/log.js';
import { createMetrics } from '../../src/telemetry/metrics.js';
import { memoryStore } from './memory-store.js';
import { sample, sandbox, snapshot } from './snapshot.js';

/** A scanner double whose result the test sets; `fail` makes the runtime listing fail. */
function fakeScanner(): Scanner & { pods: string[]; fail: boolean; scans: number } {
  const s = {
    pods: ['a', 'b'],
    fail: false,
    scans: 0,
    scan(): Promise<ScanResult> {
      s.scans++;
      if (s.fail)
        return Promise.reject(
          new CriError({
            kind: 'unavailable',
            method: 'ListPodSandbox',
            endpoint: 'x',
            detail: 'down',
          }),
        );
      const snap = snapshot(
        s.pods.map((name, i) =>
          sandbox([sample('c', { sandboxId: `sb-${name}` })], {
            name,
            id: `sb-${name}`,
            createdAt: i,
          }),
        ),
      );
      return Promise.resolve({
        snapshot: snap,
        pods: inspect(snap),
        warnings: [],
        stats: { statusCalls: 0, networkReads: 0 },
      });
    },
  };
  return s;
}

const runtime = {
  watchEvents: () =>
    Promise.reject(
      new CriError({
        kind: 'unimplemented',
        method: 'GetContainerEvents',
        endpoint: 'x',
        detail: '',
      }),
    ),
} as unknown as RuntimeClient;
const quiet = createLogger(
  'error',
  new Writable({
    write: (_c, _e, cb) => {
      cb();
    },
  }),
);

/** Runs the agent until `cycles` scans happened, then stops it. */
async function runFor(
  agent: ReturnType<typeof createAgent>,
  scanner: { scans: number },
  cycles: number,
): Promise<void> {
  const ac = new AbortController();
  const running = agent.run(ac.signal);
  const target = scanner.scans + cycles;
  while (scanner.scans < target) await new Promise((r) => setTimeout(r, 2));
  ac.abort();
  await running;
}

function make(store: ReportStore, scanner: Scanner): ReturnType<typeof createAgent> {
  return createAgent({
    scanner,
    runtime,
    store,
    node: 'node-1',
    resyncMs: 1,
    log: quiet,
    metrics: createMetrics(),
  });
}

test('writes each report once; unchanged rescans make no writes', async () => {
  const store = memoryStore();
  const scanner = fakeScanner();
  const agent = make(store, scanner);
  await runFor(agent, scanner, 5);
  assert.deepEqual(store.log.sort(), ['apply shop/a', 'apply shop/b']);
  assert.deepEqual(agent.probes.ready(), { ok: true, reason: 'scanning and writing' });
});

test('a restart with unchanged pods writes nothing; reports of pods gone are deleted at start-up', async () => {
  const first = memoryStore();
  const s1 = fakeScanner();
  s1.pods = ['a', 'b', 'gone'];
  await runFor(make(first, s1), s1, 2);
  const store = memoryStore([...first.objects.values()]);
  const s2 = fakeScanner();
  await runFor(make(store, s2), s2, 3);
  assert.deepEqual(store.log, ['delete shop/gone']);
});

test('a failed runtime listing never deletes anything', async () => {
  const seed = memoryStore();
  const s0 = fakeScanner();
  s0.pods = ['old'];
  await runFor(make(seed, s0), s0, 1);
  const store = memoryStore([...seed.objects.values()]);
  const scanner = fakeScanner();
  scanner.fail = true;
  const agent = make(store, scanner);
  await runFor(agent, scanner, 3);
  assert.deepEqual(store.log, []);
  assert.equal(agent.probes.ready().ok, false);
  assert.match(agent.probes.ready().reason, /first scan/);
});

test('writes that fail stay pending and go out once the API is back', async () => {
  const store = memoryStore();
  store.down = true;
  const scanner = fakeScanner();
  const agent = make(store, scanner);
  const ac = new AbortController();
  const running = agent.run(ac.signal);
  while (scanner.scans < 2) await new Promise((r) => setTimeout(r, 2));
  assert.deepEqual(store.log, []);
  assert.match(agent.probes.ready().reason, /API unreachable/);
  store.down = false;
  const t0 = Date.now();
  while (store.objects.size < 2 && Date.now() - t0 < 5000)
    await new Promise((r) => setTimeout(r, 5));
  ac.abort();
  await running;
  assert.deepEqual([...store.objects.keys()].sort(), ['shop/a', 'shop/b']);
  assert.equal(agent.probes.ready().ok, true);
});

test('a changed pod is rewritten; a removed pod is deleted', async () => {
  const store = memoryStore();
  const scanner = fakeScanner();
  const agent = make(store, scanner);
  await runFor(agent, scanner, 2);
  scanner.pods = ['a'];
  await runFor(agent, scanner, 2);
  assert.deepEqual(store.log.sort(), ['apply shop/a', 'apply shop/b', 'delete shop/b']);
});

/** Rewrites each scan's pods: what the fake snapshot does not say (static, another node, stopped). */
function mapPods(s: Scanner, fn: (p: PodInspection) => PodInspection): void {
  const scan = s.scan.bind(s);
  s.scan = async () => {
    const r = await scan();
    return { ...r, pods: r.pods.map(fn) };
  };
}

const staticA = (p: PodInspection): PodInspection =>
  p.pod.name === 'a' ? { ...p, static: true } : p;

/** Waits until `done()` holds (bounded), with the agent running. */
async function until(done: () => boolean, ms = 3000): Promise<void> {
  const t0 = Date.now();
  while (!done() && Date.now() - t0 < ms) await new Promise((r) => setTimeout(r, 5));
  assert.ok(done(), 'condition not reached in time');
}

function makeWith(
  store: ReportStore,
  scanner: Scanner,
  extra: Partial<Parameters<typeof createAgent>[0]> = {},
): { agent: ReturnType<typeof createAgent>; metrics: ReturnType<typeof createMetrics> } {
  const metrics = createMetrics();
  const agent = createAgent({
    scanner,
    runtime,
    store,
    node: 'node-1',
    resyncMs: 60_000,
    log: quiet,
    metrics,
    eventDebounceMs: 1,
    ...extra,
  });
  return { agent, metrics };
}

async function counter(metrics: ReturnType<typeof createMetrics>, name: string): Promise<string> {
  return (await metrics.registry.getSingleMetricAsString(name))
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .join('\n');
}

test('level-triggered: a report deleted or edited by someone else is written again without a rescan', async () => {
  const store = memoryStore();
  const scanner = fakeScanner();
  const { agent, metrics } = makeWith(store, scanner);
  const ac = new AbortController();
  const running = agent.run(ac.signal);
  await until(() => store.objects.size === 2);
  const scans = scanner.scans;
  store.edit('shop/a', null);
  await until(() => store.objects.has('shop/a'));
  store.edit('shop/b', (o) => ({ ...o, report: { ...o.report, containers: [] } }));
  await until(() => store.objects.get('shop/b')?.report.containers.length === 1);
  store.edit('shop/b', (o) => ({
    ...o,
    metadata: { ...o.metadata, labels: { ...o.metadata.labels, 'nsreport.dev/severity': 'none' } },
  }));
  ac.abort();
  await running;
  assert.equal(scanner.scans, scans, 'restored from the watch, not from a rescan');
  assert.deepEqual(store.log.sort(), [
    'apply shop/a',
    'apply shop/a',
    'apply shop/b',
    'apply shop/b',
  ]);
  assert.match(await counter(metrics, 'nsreport_report_restores_total'), / 2$/);
});

test('a report deleted after its content changed is counted restored; a change of its own is not', async () => {
  const store = memoryStore();
  const scanner = fakeScanner();
  let version = 'v1';
  mapPods(scanner, (p) => (p.pod.name === 'a' ? { ...p, runtime: { ...p.runtime, version } } : p));
  const { agent, metrics } = makeWith(store, scanner, { resyncMs: 1 });
  const ac = new AbortController();
  const running = agent.run(ac.signal);
  const versionOfA = (): string | undefined => store.objects.get('shop/a')?.report.runtime.version;
  await until(() => versionOfA() === 'v1' && store.objects.size === 2);
  version = 'v2';
  await until(() => versionOfA() === 'v2');
  assert.match(await counter(metrics, 'nsreport_report_restores_total'), / 0$/);
  // Deleted while the scan already says something new: the write that brings it back is both.
  store.edit('shop/a', null);
  version = 'v3';
  await until(() => versionOfA() === 'v3');
  ac.abort();
  await running;
  assert.match(await counter(metrics, 'nsreport_report_restores_total'), / 1$/);
});

test('a host label someone else added is taken over and written false (an apply without it would leave it), then left alone', async () => {
  const store = memoryStore();
  const scanner = fakeScanner();
  const { agent } = makeWith(store, scanner);
  const ac = new AbortController();
  const running = agent.run(ac.signal);
  await until(() => store.objects.size === 2);
  assert.equal(store.objects.get('shop/a')?.metadata.labels['nsreport.dev/host-pid'], undefined);
  const writes = store.log.length;
  // A plain pod's report made to say it shares the host's PID namespace.
  store.edit('shop/a', (o) => ({
    ...o,
    metadata: { ...o.metadata, labels: { ...o.metadata.labels, 'nsreport.dev/host-pid': 'true' } },
  }));
  await until(
    () => store.objects.get('shop/a')?.metadata.labels['nsreport.dev/host-pid'] === 'false',
  );
  // "false" says what no label says: nothing more to write.
  await new Promise((r) => setTimeout(r, 200));
  ac.abort();
  await running;
  assert.deepEqual(store.log.slice(writes), ['apply shop/a']);
});

test("a report claiming another node is this node's only when the API binds its Pod here", async () => {
  const other = memoryStore();
  const s0 = fakeScanner();
  s0.pods = ['a', 'b', 'c'];
  mapPods(s0, (p) => ({ ...p, node: 'node-2' }));
  await runFor(
    createAgent({
      scanner: s0,
      runtime,
      store: other,
      node: 'node-2',
      resyncMs: 1,
      log: quiet,
      metrics: createMetrics(),
    }),
    s0,
    1,
  );
  const store = memoryStore([...other.objects.values()]);
  // What the reports say (node-2, ready) decides nothing; the Pods do: a is node-2's, b is
  // bound here (its report forged or squatted), c's Pod is gone.
  store.pods.set('shop/a', { uid: 'uid-a', node: 'node-2', mirrorOf: '' });
  store.pods.set('shop/b', { uid: 'uid-b', node: 'node-1', mirrorOf: '' });
  const scanner = fakeScanner();
  scanner.pods = ['a', 'b', 'c'];
  const { agent, metrics } = makeWith(store, scanner, { resyncMs: 1 });
  await runFor(agent, scanner, 3);
  assert.deepEqual(store.log, ['apply shop/b']);
  assert.equal(store.objects.get('shop/a')?.metadata.labels['nsreport.dev/node'], 'node-2');
  assert.equal(store.objects.get('shop/b')?.metadata.labels['nsreport.dev/node'], 'node-1');
  assert.equal(store.objects.get('shop/c')?.metadata.labels['nsreport.dev/node'], 'node-2');
  const conflicts = await counter(metrics, 'nsreport_report_conflicts_total');
  assert.match(conflicts, /reason="held-by-other-node"\} 1$/m);
  assert.match(conflicts, /reason="other-node"\} [1-9]/);
  // node-1 no longer runs a: node-2's report of it is not deleted; b's (now node-1's) is.
  scanner.pods = [];
  await runFor(agent, scanner, 2);
  assert.ok(store.objects.has('shop/a'));
  assert.ok(!store.objects.has('shop/b'));
});

test('a write the admission policy refuses is counted as denied and retried, nothing else written', async () => {
  const other = memoryStore();
  const s0 = fakeScanner();
  s0.pods = ['b'];
  mapPods(s0, (p) => ({ ...p, node: 'node-2' }));
  await runFor(
    createAgent({
      scanner: s0,
      runtime,
      store: other,
      node: 'node-2',
      resyncMs: 1,
      log: quiet,
      metrics: createMetrics(),
    }),
    s0,
    1,
  );
  const store = memoryStore([...other.objects.values()]);
  store.pods.set('shop/b', { uid: 'uid-b', node: 'node-1', mirrorOf: '' });
  const apply = store.apply.bind(store);
  let refused = 0;
  store.apply = (r, rv) => {
    if (
      store.objects.get(`${r.metadata.namespace}/${r.metadata.name}`)?.metadata.labels[
        'nsreport.dev/node'
      ] === 'node-2'
    ) {
      refused++;
      return Promise.reject(
        new ApiError({
          kind: 'denied',
          status: 403,
          detail: "ValidatingAdmissionPolicy 'nsreport-node-binding' denied request",
        }),
      );
    }
    return apply(r, rv);
  };
  const scanner = fakeScanner();
  scanner.pods = ['a', 'b'];
  const { agent, metrics } = makeWith(store, scanner, { resyncMs: 60_000 });
  const ac = new AbortController();
  const running = agent.run(ac.signal);
  await until(() => refused >= 2, 5000);
  ac.abort();
  await running;
  assert.deepEqual(store.log, ['apply shop/a']);
  assert.match(
    await counter(metrics, 'nsreport_report_writes_total'),
    /operation="apply",result="denied"\} [2-9]/,
  );
  assert.equal(agent.probes.ready().ok, true, 'a refused write is not an API outage');
});

test("a report the cluster's CRD refuses (another version's) is said once per report, how to fix it, and retried", async () => {
  const store = memoryStore();
  let refused = 0;
  store.apply = () => {
    refused++;
    return Promise.reject(
      new ApiError({
        kind: 'invalid',
        status: 422,
        detail: 'report.containers[0].mounts[0].declaredPropagation: Required value',
      }),
    );
  };
  const lines: string[] = [];
  const log = createLogger(
    'info',
    new Writable({
      write: (c: Buffer, _e, cb) => {
        lines.push(c.toString());
        cb();
      },
    }),
  );
  const { agent, metrics } = makeWith(store, fakeScanner(), { log });
  const ac = new AbortController();
  const running = agent.run(ac.signal);
  // Two pods, each tried at least twice (the backoff's first retry is after 1 s).
  await until(() => refused >= 4, 5000);
  ac.abort();
  await running;
  const warned = lines.filter((l) => l.includes('"level":40') && l.includes('CRD refused'));
  assert.equal(warned.length, 2, lines.join(''));
  assert.match(warned[0] ?? '', /apply this release's CRD \(manifests\/crd.yaml\)/);
  assert.match(warned[0] ?? '', /declaredPropagation: Required value/);
  assert.match(
    await counter(metrics, 'nsreport_report_writes_total'),
    /operation="apply",result="error"\} [4-9]/,
  );
});

test('a delete whose object changed since it was seen is refused and decided again', async () => {
  const store = memoryStore();
  const scanner = fakeScanner();
  const { agent, metrics } = makeWith(store, scanner, { resyncMs: 1 });
  await runFor(agent, scanner, 2);
  const stale = storedReport(store.objects.get('shop/b')) as StoredReport;
  store.edit('shop/b', (o) => o);
  await assert.rejects(store.remove(stale), /conflict/);
  scanner.pods = ['a'];
  await runFor(agent, scanner, 2);
  assert.ok(!store.objects.has('shop/b'), 'deleted once seen as it is now');
  assert.equal(await counter(metrics, 'nsreport_report_conflicts_total'), '');
});

test("static pods' reports are owned by the Node, API pods' by their Pod", async () => {
  const store = memoryStore();
  store.nodes.set('node-1', 'node-uid-1');
  const scanner = fakeScanner();
  mapPods(scanner, staticA);
  await runFor(makeWith(store, scanner, { resyncMs: 1 }).agent, scanner, 2);
  assert.deepEqual(store.objects.get('shop/a')?.metadata.ownerReferences?.[0], {
    apiVersion: 'v1',
    kind: 'Node',
    name: 'node-1',
    uid: 'node-uid-1',
  });
  assert.equal(store.objects.get('shop/b')?.metadata.ownerReferences?.[0]?.kind, 'Pod');
  assert.equal(store.objects.get('shop/b')?.metadata.ownerReferences?.[0]?.uid, 'uid-b');
});

test('liveness fails once the runtime stays unreachable past its deadline', async () => {
  let t = 0;
  const scanner = fakeScanner();
  scanner.fail = true;
  const { agent } = makeWith(memoryStore(), scanner, {
    now: () => t,
    resyncMs: 1,
    runtimeDeadlineMs: 1000,
  });
  const ac = new AbortController();
  const running = agent.run(ac.signal);
  await until(() => scanner.scans >= 1);
  assert.equal(agent.probes.healthy().ok, true);
  t = 1500;
  assert.match(agent.probes.healthy().reason, /runtime unreachable for 2s/);
  scanner.fail = false;
  await until(() => agent.probes.healthy().ok, 5000);
  ac.abort();
  await running;
});

test('a stopped sandbox updates its report but never makes one (its Pod may be gone: no fight with the garbage collector)', async () => {
  const store = memoryStore();
  const scanner = fakeScanner();
  let stopped = false;
  mapPods(scanner, (p) =>
    p.pod.name === 'b' && stopped
      ? { ...p, sandbox: { ...p.sandbox, state: 'notready' as const } }
      : p,
  );
  const { agent } = makeWith(store, scanner, { resyncMs: 1 });
  await runFor(agent, scanner, 2);
  stopped = true;
  await runFor(agent, scanner, 2);
  assert.equal(store.objects.get('shop/b')?.report.sandbox.state, 'notready', 'updated');
  store.edit('shop/b', null);
  await runFor(agent, scanner, 3);
  assert.ok(!store.objects.has('shop/b'), 'not made again');
  assert.deepEqual(store.log, ['apply shop/a', 'apply shop/b', 'apply shop/b']);
});

test("a static pod's report collected after its Node was made again is owned by the new Node", async () => {
  const store = memoryStore();
  store.nodes.set('node-1', 'node-uid-1');
  const scanner = fakeScanner();
  mapPods(scanner, staticA);
  const { agent } = makeWith(store, scanner, { resyncMs: 1 });
  await runFor(agent, scanner, 2);
  assert.equal(store.objects.get('shop/a')?.metadata.ownerReferences?.[0]?.uid, 'node-uid-1');
  // The Node is deleted and registered again; the garbage collector takes the report.
  store.nodes.set('node-1', 'node-uid-2');
  store.edit('shop/a', null);
  await runFor(agent, scanner, 3);
  assert.equal(store.objects.get('shop/a')?.metadata.ownerReferences?.[0]?.uid, 'node-uid-2');
});

test('run() resolves within 100 ms of abort while the CRI event stream keeps failing', async () => {
  const failing = {
    watchEvents: () =>
      Promise.reject(
        new CriError({
          kind: 'unavailable',
          method: 'GetContainerEvents',
          endpoint: 'x',
          detail: '',
        }),
      ),
  } as unknown as RuntimeClient;
  const scanner = fakeScanner();
  const agent = createAgent({
    scanner,
    runtime: failing,
    store: memoryStore(),
    node: 'node-1',
    resyncMs: 60_000,
    log: quiet,
    metrics: createMetrics(),
  });
  const ac = new AbortController();
  const running = agent.run(ac.signal);
  // Past the first retry: the follower is in its 2 s backoff.
  await new Promise((r) => setTimeout(r, 1100));
  const t0 = Date.now();
  ac.abort();
  await running;
  const took = Date.now() - t0;
  assert.ok(took < 100, `run() resolved ${took} ms after abort`);
});

test('a scan that throws something unexpected is retried at the next resync, never a crash', async () => {
  const store = memoryStore();
  const scanner = fakeScanner();
  const working = scanner.scan.bind(scanner);
  let throws = 2;
  scanner.scan = () => {
    if (throws-- > 0) {
      scanner.scans++;
      return Promise.reject(new TypeError("Cannot read properties of undefined (reading 'x')"));
    }
    return working();
  };
  const agent = make(store, scanner);
  await runFor(agent, scanner, 4);
  assert.deepEqual(store.log.sort(), ['apply shop/a', 'apply shop/b']);
  assert.equal(agent.probes.ready().ok, true);
});
