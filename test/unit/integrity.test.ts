import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createAudit } from '../../src/audit/audit.js';
import { checkReport, readReport, type IntegrityCheck } from '../../src/audit/integrity.js';
import { formatAudit } from '../../src/cli/audit-output.js';
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
const unlabel =
  (k: string): Edit =>
  (r) => ({
    ...r,
    metadata: {
      ...r.metadata,
      labels: Object.fromEntries(Object.entries(r.metadata.labels).filter(([l]) => l !== k)),
    },
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
  [
    'only the label is gone: says not hostNetwork',
    unlabel('nsreport.dev/host-network'),
    {},
    ['labels'],
  ],
  // The agent writes a host label only when true; an older one wrote "false" as well.
  [
    "an older agent's host-pid and host-ipc labels, false",
    both(label('nsreport.dev/host-pid', 'false'), label('nsreport.dev/host-ipc', 'false')),
    {},
    [],
  ],
  [
    'a host-pid label the body does not say',
    label('nsreport.dev/host-pid', 'true'),
    {},
    ['labels'],
  ],
  ['the severity label lowered', label('nsreport.dev/severity', 'none'), {}, ['labels']],
  ['the Pod spec asks for hostPID, the report says no', (r) => r, { hostPID: true }, ['host-pid']],
  ['the Pod spec asks for hostIPC, the report says no', (r) => r, { hostIPC: true }, ['host-ipc']],
  ['the node label removed', unlabel('nsreport.dev/node'), {}, ['labels']],
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

const without = (o: object, key: string): Record<string, unknown> =>
  Object.fromEntries(Object.entries(o).filter(([k]) => k !== key));

// A report of another shape than the agent writes (anyone with write access can make one): the
// object as listed → what readReport says.
const unreadable: [string, (o: Record<string, unknown>) => unknown, RegExp][] = [
  ['no body', (o) => without(o, 'report'), /^no report body: it says nothing about its pod$/],
  ['a null body', (o) => ({ ...o, report: null }), /^no report body/],
  ['a body that is a string', (o) => ({ ...o, report: 'x' }), /\(report is "x", not an object\)/],
  [
    'containers not a list',
    (o) => ({ ...o, report: { ...(o.report as object), containers: {} } }),
    /\(report\.containers is an object, not a list\)/,
  ],
  [
    'a mount without a destination',
    (o) => ({
      ...o,
      report: { ...(o.report as object), containers: [{ name: 'c', mounts: [{}] }] },
    }),
    /\(report\.containers\[0\]\.mounts\[0\]\.destination is missing, not a string\)/,
  ],
  [
    'a finding of an unknown severity',
    (o) => ({
      ...o,
      report: {
        ...(o.report as object),
        findings: [{ id: 'NSR001', severity: 'apocalyptic', message: 'm' }],
      },
    }),
    /report\.findings\[0\]\.severity is "apocalyptic", not one of low, medium, high, critical/,
  ],
  [
    'a listener port that is a string',
    (o) => ({
      ...o,
      report: {
        ...(o.report as object),
        network: {
          interfaces: [],
          listeners: [{ protocol: 'tcp', address: '', port: '80', container: '' }],
        },
      },
    }),
    /report\.network\.listeners\[0\]\.port is "80", not a number/,
  ],
  [
    'no metadata',
    (o) => without(o, 'metadata'),
    /^a report object nsreport does not write \(metadata is missing/,
  ],
  ['not an object at all', () => 'hello', /^a report object nsreport does not write/],
];

for (const [name, edit, message] of unreadable) {
  test(`integrity: a report it cannot read: ${name}`, () => {
    const o = edit(structuredClone(honest) as unknown as Record<string, unknown>);
    const read = readReport(o);
    assert.equal(read.ok, false);
    if (read.ok) return;
    assert.equal(read.issue.check, 'body');
    assert.equal(read.issue.severity, 'critical');
    assert.match(read.issue.message, message);
    assert.doesNotMatch(read.issue.message, /\n/);
  });
}

test('the audit shows a report it cannot read as untrusted, whatever the filters, and never throws', () => {
  const pods = new Map([['shop/h', POD]]);
  const a = createAudit({ findings: ['NSR009'], hostNetwork: true, minSeverity: 'critical' }, pods);
  a.add(without(honest, 'report'));
  a.add({ metadata: { namespace: 'shop', name: 'ghost' }, report: { containers: 'x' } });
  a.add(null);
  const result = a.result({
    checked: true,
    nodesWithoutReports: [],
    podsWithoutReport: [],
    reportsWithoutPod: [],
    hostNetworkPodsWithoutReport: [],
    hostNetworkDisagreements: [],
  });
  assert.equal(result.summary.reports, 3);
  assert.equal(result.summary.untrusted, 3);
  assert.equal(result.summary.highestSeverity, 'critical');
  const rows = result.nodes.flatMap((n) => n.pods);
  const h = rows.find((p) => p.name === 'h');
  assert.equal(h?.node, 'node-1', "the Pod's node");
  assert.equal(h?.hostNetwork, true, "the Pod's spec");
  assert.deepEqual(
    h?.integrity?.map((i) => i.check),
    ['body'],
  );
  assert.deepEqual(
    rows.find((p) => p.name === 'ghost')?.integrity?.map((i) => i.check),
    ['body', 'pod'],
  );
  // It covers no node: the Pod's node is not covered by it.
  assert.equal(a.tally.coveredNodes.size, 0);
  assert.ok(a.tally.reported.has('shop/h'));
  for (const output of ['table', 'wide', 'json', 'csv'] as const)
    assert.match(formatAudit(result, { output, color: false }), /body/);
});
