import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { createOpenReportsSync } from '../../src/agent/openreports.js';
import { inspect } from '../../src/inspect/inspect.js';
import { parseAcceptRules } from '../../src/inspect/accept.js';
import type { ReportStore, StoredOpenReport, WatchHandlers } from '../../src/k8s/store.js';
import { ApiError } from '../../src/k8s/errors.js';
import { buildOpenReport, openReportName, type OpenReport } from '../../src/report/openreport.js';
import { createLogger } from '../../src/telemetry/log.js';
import { createMetrics } from '../../src/telemetry/metrics.js';
import { HOST_NS, sample, sandbox, snapshot } from './snapshot.js';

const hostnet = (opts: { static?: boolean } = {}) =>
  snapshot([
    sandbox([sample('srv', { ns: { ...HOST_NS, mnt: 9, pid: 103, ipc: 104 } })], {
      name: 'edge',
      network: 'NODE',
      ...opts,
    }),
  ]);

test('a Report per pod with a finding that counts: one fail result per finding, rule id as policy', () => {
  const [pod] = inspect(hostnet());
  const r = buildOpenReport(pod!, null);
  assert.ok(r);
  assert.equal(r.apiVersion, 'openreports.io/v1alpha1');
  assert.equal(r.metadata.name, 'nsreport-edge');
  assert.deepEqual(r.scope, {
    apiVersion: 'v1',
    kind: 'Pod',
    name: 'edge',
    namespace: 'shop',
    uid: 'uid-edge',
  });
  assert.deepEqual(r.results, [
    {
      source: 'nsreport',
      policy: 'NSR001',
      category: 'Pod isolation',
      severity: 'high',
      result: 'fail',
      message: "pod shares the host's network namespace (hostNetwork)",
      properties: { node: 'node-1' },
    },
  ]);
  assert.deepEqual(r.summary, { pass: 0, fail: 1, warn: 0, error: 0, skip: 0 });
  assert.equal(r.metadata.ownerReferences?.[0]?.uid, 'uid-edge');
  assert.match(r.metadata.annotations['nsreport.dev/content-hash'] ?? '', /^sha256:/);
  // No finding, or every one accepted: no Report.
  assert.equal(buildOpenReport(inspect(snapshot([sandbox([sample('a')])]))[0]!, null), null);
  const accept = parseAcceptRules(
    JSON.stringify([{ finding: 'NSR001', namespace: '*', reason: 'r' }]),
  );
  const [accepted] = inspect(hostnet(), { rules: accept.rules, annotationNamespaces: [] });
  assert.equal(buildOpenReport(accepted!, null), null);
  // A static pod's CRI uid is not its mirror Pod's: no uid in the scope.
  const [st] = inspect(hostnet({ static: true }));
  assert.equal(buildOpenReport(st!, 'node-uid')?.scope.uid, undefined);
  assert.equal(openReportName('x'.repeat(253)).length <= 253, true);
});

/** A store double whose watch of OpenReports the test drives: what it holds, listed or not. */
function fakeStore(initial: StoredOpenReport[]) {
  const log: string[] = [];
  const held = new Map(initial.map((r) => [`${r.namespace}/${r.name}`, r]));
  let handlers: WatchHandlers | null = null;
  const store = {
    log,
    synced: true,
    /** Someone deletes a Report: the watch tells. */
    drop(k: string) {
      held.delete(k);
      handlers?.onChange();
    },
    fail(err: ApiError) {
      handlers?.onRestart('error', err);
    },
    watchOpenReports: (_node: string, h: WatchHandlers) => {
      handlers = h;
      log.push('watch');
      return {
        get synced() {
          return store.synced;
        },
        get: (ns: string, name: string) => held.get(`${ns}/${name}`),
        list: () => [...held.values()],
      };
    },
    applyOpenReport: (r: OpenReport) => {
      log.push(`apply ${r.metadata.name}`);
      return Promise.resolve();
    },
    removeOpenReport: (r: StoredOpenReport) => {
      log.push(`delete ${r.name}`);
      return Promise.resolve();
    },
  };
  return store as unknown as ReportStore & typeof store;
}

test('sync: writes on change only, deletes only after a complete scan, from what the watch holds; nothing before the listing', async () => {
  const [pod] = inspect(hostnet());
  const r = buildOpenReport(pod!, null)!;
  const hash = r.metadata.annotations['nsreport.dev/content-hash'] ?? '';
  const store = fakeStore([
    { namespace: 'shop', name: 'nsreport-edge', uid: 'u1', resourceVersion: '1', hash },
    { namespace: 'shop', name: 'nsreport-gone', uid: 'u2', resourceVersion: '2', hash: 'x' },
  ]);
  const lines: string[] = [];
  const sync = createOpenReportsSync({
    store,
    node: 'node-1',
    log: createLogger(
      'warn',
      new Writable({
        write: (c: Buffer, _e, cb) => {
          lines.push(c.toString());
          cb();
        },
      }),
    ),
    metrics: createMetrics(),
  });
  const want = new Map([['shop/nsreport-edge', r]]);
  const signal = new AbortController().signal;
  store.synced = false;
  let changes = 0;
  sync.watch(() => changes++, signal);
  await sync.sync(want, true, signal);
  assert.deepEqual(store.log, ['watch'], 'not listed yet: nothing written or deleted');
  store.synced = true;
  await sync.sync(want, false, signal);
  assert.deepEqual(
    store.log,
    ['watch'],
    'unchanged: nothing written; incomplete scan: nothing deleted',
  );
  await sync.sync(want, true, signal);
  assert.deepEqual(store.log.splice(0), ['watch', 'delete nsreport-gone']);
  store.drop('shop/nsreport-edge');
  assert.equal(changes, 1, 'a deletion asks for a pass');
  await sync.sync(want, true, signal);
  assert.deepEqual(store.log.splice(0), ['apply nsreport-edge', 'delete nsreport-gone']);
  const missing = new ApiError({ kind: 'crd-missing', detail: 'no CRD', status: 404 });
  store.fail(missing);
  store.fail(missing);
  assert.equal(
    lines.filter((l) => l.includes('CRD (reports.openreports.io) not installed')).length,
    1,
  );
});
