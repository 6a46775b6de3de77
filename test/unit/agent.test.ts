import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { createAgent } from '../../src/agent/agent.js';
import type { ScanResult, Scanner } from '../../src/agent/scanner.js';
import { CriError } from '../../src/cri/errors.js';
import type { RuntimeClient } from '../../src/cri/types.js';
import { inspect } from '../../src/inspect/inspect.js';
import { ApiError } from '../../src/k8s/errors.js';
import type { ReportStore, StoredReport } from '../../src/k8s/store.js';
import type { NamespaceReport } from '../../src/report/types.js';
import { createLogger } from '../../src/telemetry/log.js';
import { createMetrics } from '../../src/telemetry/metrics.js';
import { sample, sandbox, snapshot } from './snapshot.js';

/** In-memory API (unit test double; the e2e suite runs the real kube-apiserver). */
function memoryStore(
  initial: StoredReport[] = [],
): ReportStore & { objects: Map<string, string>; log: string[]; down: boolean } {
  const objects = new Map(initial.map((r) => [`${r.namespace}/${r.name}`, r.hash ?? '']));
  const log: string[] = [];
  const store = {
    objects,
    log,
    down: false,
    listNodeReports: () => {
      if (store.down)
        return Promise.reject(
          new ApiError({ kind: 'unreachable', status: null, detail: 'ECONNREFUSED' }),
        );
      return Promise.resolve(
        [...objects].map(([k, hash]) => ({
          namespace: k.split('/')[0] ?? '',
          name: k.split('/')[1] ?? '',
          hash,
        })),
      );
    },
    apply: (r: NamespaceReport) => {
      if (store.down)
        return Promise.reject(
          new ApiError({ kind: 'unreachable', status: null, detail: 'ECONNREFUSED' }),
        );
      log.push(`apply ${r.metadata.namespace}/${r.metadata.name}`);
      objects.set(
        `${r.metadata.namespace}/${r.metadata.name}`,
        r.metadata.annotations['nsreport.dev/content-hash'] ?? '',
      );
      return Promise.resolve();
    },
    remove: (ns: string, name: string) => {
      if (store.down)
        return Promise.reject(
          new ApiError({ kind: 'unreachable', status: null, detail: 'ECONNREFUSED' }),
        );
      log.push(`delete ${ns}/${name}`);
      objects.delete(`${ns}/${name}`);
      return Promise.resolve();
    },
    ping: () =>
      store.down
        ? Promise.reject(new ApiError({ kind: 'unreachable', status: null, detail: 'x' }))
        : Promise.resolve(),
  };
  return store;
}

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
  const store = memoryStore(
    [...first.objects].map(([k, hash]) => ({
      namespace: 'shop',
      name: k.split('/')[1] ?? '',
      hash,
    })),
  );
  const s2 = fakeScanner();
  await runFor(make(store, s2), s2, 3);
  assert.deepEqual(store.log, ['delete shop/gone']);
});

test('a failed runtime listing never deletes anything', async () => {
  const store = memoryStore([{ namespace: 'shop', name: 'a', hash: 'old' }]);
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
