import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkReport, type IntegrityCheck } from '../../src/audit/integrity.js';
import type { PodSummary } from '../../src/audit/reader.js';
import { inspect } from '../../src/inspect/inspect.js';
import { buildReport } from '../../src/report/report.js';
import type { NamespaceReport } from '../../src/report/types.js';
import { HOST_NS, sample, sandbox, snapshot } from './snapshot.js';

// The hostNetwork pod `h` of node-1, as its agent writes it.
const [honest] = inspect(
  snapshot([
    sandbox([sample('srv', { ns: { ...HOST_NS, mnt: 9, pid: 10, ipc: 11 }, sandboxId: 'h' })], {
      name: 'h',
      id: 'h',
      network: 'NODE',
    }),
  ]),
).map((p) => buildReport(p, null));
assert.ok(honest);

const POD: PodSummary = {
  namespace: 'shop',
  name: 'h',
  uid: 'uid-h',
  mirrorOf: '',
  node: 'node-1',
  phase: 'Running',
  hostNetwork: true,
  hostPID: false,
  hostIPC: false,
};

type Edit = (r: NamespaceReport) => NamespaceReport;
const body =
  (fn: (b: NamespaceReport['report']) => NamespaceReport['report']): Edit =>
  (r) => ({
    ...r,
    report: fn(structuredClone(r.report)),
  });
const label =
  (k: string, v: string): Edit =>
  (r) => ({
    ...r,
    metadata: { ...r.metadata, labels: { ...r.metadata.labels, [k]: v } },
  });
const both =
  (...edits: Edit[]): Edit =>
  (r) =>
    edits.reduce((x, e) => e(x), r);

// An edit of the report (or of the Pod) → the checks it fails.
const cases: [string, Edit, Partial<PodSummary> | null, IntegrityCheck[]][] = [
  ['as written', (r) => r, {}, []],
  ['the Pod is gone', (r) => r, null, ['pod']],
  ['a new Pod of that name (StatefulSet)', (r) => r, { uid: 'uid-new' }, ['uid']],
  ['a static pod: the mirror names its UID', (r) => r, { uid: 'mirror', mirrorOf: 'uid-h' }, []],
  ['the Pod is bound to another node', (r) => r, { node: 'node-2' }, ['node']],
  [
    'relabelled and re-bodied to another node',
    both(
      label('nsreport.dev/node', 'node-9'),
      body((b) => ({ ...b, node: 'node-9' })),
    ),
    {},
    ['node'],
  ],
  [
    'forged as not hostNetwork, labels and body agreeing',
    both(
      label('nsreport.dev/host-network', 'false'),
      body((b) => ({
        ...b,
        declared: { ...b.declared, network: 'POD' },
        hostNamespaces: { ...b.hostNamespaces, network: 'false' },
      })),
    ),
    {},
    ['host-network'],
  ],
  [
    'only the label says not hostNetwork',
    label('nsreport.dev/host-network', 'false'),
    {},
    ['labels'],
  ],
  ['the severity label lowered', label('nsreport.dev/severity', 'none'), {}, ['labels']],
  ['the Pod spec asks for hostPID, the report says no', (r) => r, { hostPID: true }, ['host-pid']],
  ['the Pod spec asks for hostIPC, the report says no', (r) => r, { hostIPC: true }, ['host-ipc']],
  [
    'the node label removed',
    (r) => {
      const labels: Record<string, string> = { ...r.metadata.labels };
      delete labels['nsreport.dev/node'];
      return { ...r, metadata: { ...r.metadata, labels } };
    },
    {},
    ['labels'],
  ],
];

for (const [name, edit, podEdit, want] of cases) {
  test(`integrity: ${name}`, () => {
    const issues = checkReport(edit(honest), podEdit === null ? undefined : { ...POD, ...podEdit });
    assert.deepEqual(
      issues.map((i) => i.check),
      want,
    );
    for (const i of issues) assert.ok(i.message.length > 0);
  });
}

test('integrity: who or where a report is, and host namespaces, are critical; labels high; a lost Pod medium', () => {
  const sev = (edit: Edit, pod: Partial<PodSummary> | null): string[] =>
    checkReport(edit(honest), pod === null ? undefined : { ...POD, ...pod }).map((i) => i.severity);
  assert.deepEqual(
    sev((r) => r, { node: 'n2' }),
    ['critical'],
  );
  assert.deepEqual(sev(label('nsreport.dev/severity', 'none'), {}), ['high']);
  assert.deepEqual(
    sev((r) => r, null),
    ['medium'],
  );
});
