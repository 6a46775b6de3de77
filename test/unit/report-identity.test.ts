import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { inspect } from '../../src/inspect/inspect.js';
import { storedReport } from '../../src/k8s/store.js';
import { buildReport, contentHash, labelValue } from '../../src/report/report.js';
import { sample, sandbox, snapshot } from './snapshot.js';

/** Identity and stability of reports: node labels, hashes, order. */

test('node label values: valid names as they are; longer ones short, stable and distinct', () => {
  assert.equal(labelValue('node-1.example.com'), 'node-1.example.com');
  const common = 'ip-10-0-0-1.eu-west-1.compute.internal.cluster-with-a-long-name';
  assert.equal(common.length, 63);
  const a = `${common}-aaaaaaaaaaaaaaaa`;
  const b = `${common}-bbbbbbbbbbbbbbbb`;
  assert.equal(a.length, 80);
  for (const n of [a, b]) {
    assert.ok(labelValue(n).length <= 63, labelValue(n));
    assert.match(labelValue(n), /^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$/);
    assert.equal(labelValue(n), labelValue(n));
  }
  assert.notEqual(labelValue(a), labelValue(b));
  fc.assert(
    fc.property(fc.string({ minLength: 0, maxLength: 300 }), (s) => {
      const v = labelValue(s);
      return v.length <= 63 && /^([A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?)?$/.test(v);
    }),
  );
});

test('the report keeps the full node name; the label carries the short form', () => {
  const node = 'n'.repeat(80);
  const [pod] = inspect({ ...snapshot([sandbox([sample('app')])]), node });
  const r = buildReport(pod!, null);
  assert.equal(r.report.node, node);
  assert.equal(r.metadata.labels['nsreport.dev/node'], labelValue(node));
});

/** Sorts object keys the other way round: what the API server may give back. */
function reversedKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(reversedKeys);
  if (typeof v !== 'object' || v === null) return v;
  return Object.fromEntries(
    Object.entries(v)
      .reverse()
      .map(([k, x]) => [k, reversedKeys(x)]),
  );
}

test('the content hash of a stored report equals the wanted one whatever its key order; an edit changes it', () => {
  const [pod] = inspect(snapshot([sandbox([sample('app')])]));
  const wanted = buildReport(pod!, null);
  const stored = reversedKeys({
    ...wanted,
    metadata: {
      ...wanted.metadata,
      uid: 'x',
      resourceVersion: '7',
      managedFields: [{ manager: 'nsreport' }],
      labels: { ...wanted.metadata.labels, team: 'shop' },
    },
  }) as typeof wanted;
  const s = storedReport(stored);
  assert.equal(s?.hash, contentHash(wanted));
  assert.equal(s?.resourceVersion, '7');
  const edited = {
    ...wanted,
    report: { ...wanted.report, findings: [] as never[], truncated: true },
  };
  assert.notEqual(contentHash(edited), contentHash(wanted));
  const relabelled = {
    ...wanted,
    metadata: {
      ...wanted.metadata,
      labels: { ...wanted.metadata.labels, 'nsreport.dev/severity': 'critical' },
    },
  };
  assert.notEqual(contentHash(relabelled), contentHash(wanted));
});

test('permuted CRI lists give one report and one hash (a restarted container: exited + running)', () => {
  const exited = sample('app', { state: 'exited' });
  const running = sample('app');
  const containers = [
    { ...exited, summary: { ...exited.summary, id: 'c-old', createdAt: 1 } },
    { ...running, summary: { ...running.summary, id: 'c-new', createdAt: 2 } },
    sample('sidecar'),
  ];
  const old = sandbox([], { id: 'sb-old', state: 'notready', createdAt: 1 });
  const reports = new Set<string>();
  fc.assert(
    fc.property(
      fc.shuffledSubarray(containers, { minLength: 3, maxLength: 3 }),
      fc.boolean(),
      (cs, oldFirst) => {
        const cur = sandbox(cs, { id: 'sb-1', createdAt: 2 });
        const snap = snapshot(oldFirst ? [old, cur] : [cur, old]);
        const r = buildReport(inspect(snap)[0]!, null);
        reports.add(JSON.stringify(r));
        return true;
      },
    ),
  );
  assert.equal(reports.size, 1);
});
