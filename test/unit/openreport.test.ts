import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createOpenReportsSync } from '../../src/agent/openreports.js';
import { inspect } from '../../src/inspect/inspect.js';
import { parseAcceptRules } from '../../src/inspect/accept.js';
import type { ReportStore, StoredOpenReport } from '../../src/k8s/store.js';
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

function fakeStore(held: StoredOpenReport[]) {
  const log: string[] = [];
  let crd = true;
  const store = {
    log,
    setCrd(v: boolean) {
      crd = v;
    },
    listOpenReports: () => {
      log.push('list');
      return crd
        ? Promise.resolve(held)
        : Promise.reject(new ApiError({ kind: 'crd-missing', detail: 'no CRD', status: 404 }));
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

test('sync: writes on change only, deletes only after a complete scan, relists, a missing CRD is retried', async () => {
  const [pod] = inspect(hostnet());
  const r = buildOpenReport(pod!, null)!;
  const hash = r.metadata.annotations['nsreport.dev/content-hash'] ?? '';
  const store = fakeStore([
    { namespace: 'shop', name: 'nsreport-edge', uid: 'u1', resourceVersion: '1', hash },
    { namespace: 'shop', name: 'nsreport-gone', uid: 'u2', resourceVersion: '2', hash: 'x' },
  ]);
  let t = 0;
  const sync = createOpenReportsSync({
    store,
    node: 'node-1',
    log: createLogger('error'),
    metrics: createMetrics(),
    relistMs: 60_000,
    now: () => t,
  });
  const want = new Map([['shop/nsreport-edge', r]]);
  const signal = new AbortController().signal;
  await sync.sync(want, false, signal);
  assert.deepEqual(
    store.log,
    ['list'],
    'unchanged: nothing written; incomplete scan: nothing deleted',
  );
  await sync.sync(want, true, signal);
  assert.deepEqual(store.log, ['list', 'delete nsreport-gone']);
  t = 61_000;
  store.log.length = 0;
  store.setCrd(false);
  await sync.sync(want, true, signal);
  await sync.sync(want, true, signal);
  assert.deepEqual(
    store.log,
    ['list', 'list'],
    'no CRD: listed again on every pass, nothing written',
  );
  store.setCrd(true);
  store.log.length = 0;
  await sync.sync(
    new Map([
      [
        'shop/nsreport-edge',
        { ...r, metadata: { ...r.metadata, annotations: { 'nsreport.dev/content-hash': 'new' } } },
      ],
    ]),
    true,
    signal,
  );
  assert.deepEqual(store.log, ['list', 'apply nsreport-edge', 'delete nsreport-gone']);
});
