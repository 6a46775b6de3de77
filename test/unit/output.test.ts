import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parse } from 'yaml';
import { createAudit } from '../../src/audit/audit.js';
import type { PodSummary } from '../../src/audit/reader.js';
import { formatAudit } from '../../src/cli/audit-output.js';
import { columns } from '../../src/cli/escape.js';
import { formatHostView, formatReports } from '../../src/cli/output.js';
import { collectHostView } from '../../src/collect/hostview.js';
import { inspect } from '../../src/inspect/inspect.js';
import { buildReport } from '../../src/report/report.js';
import type { NamespaceReport } from '../../src/report/types.js';
import { fakeProc } from './fixtures.js';
import { HOST_NS, sample, sandbox, snapshot } from './snapshot.js';

/**
 * Human output of hostile text. Everything a container, the runtime or a report's writer
 * controls may hold terminal escapes: the table shows them written out, never raw.
 */
const TITLE = '\u001b]0;pwned\u0007';
const CLEAR = '\u001b[2J';
const FAKE_LINE = '\r\u001b[1AALL CLEAR\n';
const C1 = '\u009b2J';
const RLO = '\u202e';

// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

/** A hostNetwork pod whose names, image, mounts and messages are an attacker's. */
function hostileReport(): NamespaceReport {
  const mounts = [
    {
      containerPath: `/data${CLEAR}`,
      hostPath: `/run/containerd/${TITLE}`,
      readOnly: false,
      propagation: 'Bidirectional' as const,
    },
  ];
  const c = sample('app', { ns: { ...HOST_NS, mnt: 102 }, mounts, privileged: true });
  const networks = new Map([
    [
      HOST_NS.net ?? 1,
      {
        interfaces: [],
        listeners: [
          {
            protocol: 'tcp' as const,
            address: '0.0.0.0',
            port: 8080,
            container: `app${FAKE_LINE}`,
            containerId: 'id-app',
          },
        ],
      },
    ],
  ]);
  const [pod] = inspect(
    snapshot([sandbox([c], { name: 'web', network: 'NODE' })], { networks }),
  ).map((p) => buildReport(p, null));
  assert.ok(pod && pod.report.findings.length > 0);
  const name = `app${FAKE_LINE}`;
  return {
    ...pod,
    metadata: { ...pod.metadata, name: `web${TITLE}` },
    report: {
      ...pod.report,
      containers: pod.report.containers.map((c) => ({
        ...c,
        name,
        image: `busybox${C1}:1${RLO}`,
      })),
      findings: pod.report.findings.map((f) => ({
        ...f,
        message: `${f.message}${CLEAR}`,
        container: name,
      })),
    },
  };
}

/**
 * A table holds no control character but its own newlines, and each of its rows starts its
 * columns where the header does (in terminal columns).
 */
function assertSafeTable(out: string, header: string): void {
  assert.doesNotMatch(out, CONTROL);
  const lines = out.split('\n');
  const head = lines.findIndex((l) => l.trimStart().startsWith(header));
  assert.ok(head >= 0, out);
  const end = lines.indexOf('', head);
  const starts = (l: string): number[] =>
    [...l.matchAll(/(?:^ *| {3,})\S/g)].map((m) =>
      columns(l.slice(0, (m.index ?? 0) + m[0].length - 1)),
    );
  const want = starts(lines[head] ?? '');
  for (const row of lines.slice(head + 1, end)) assert.deepEqual(starts(row), want, out);
}

test('scan table and -o wide: hostile names, image and container shown escaped, columns aligned', () => {
  const r = hostileReport();
  const table = formatReports([r, hostileReport()], 'table');
  assertSafeTable(table, 'NAMESPACE');
  assert.match(table, /web\\x1b\]0;pwned\\x07 {3}app\\r\\x1b\[1AALL CLEAR\\n {3}/);
  const wide = formatReports([r], 'wide');
  assertSafeTable(wide, 'NAMESPACE');
  assert.ok(wide.includes('busybox\\x9b2J:1\\u202e'), wide);
  // Exactly the header and one row: no line of its own.
  assert.equal(wide.trimEnd().split('\n').length, 2);
});

test('scan -o json and yaml are data: exact, byte for byte, whatever the strings hold', () => {
  const reports = [hostileReport()];
  const list = { apiVersion: 'v1', kind: 'List', items: reports };
  assert.equal(formatReports(reports, 'json'), JSON.stringify(list, null, 2) + '\n');
  const yaml = formatReports(reports, 'yaml');
  assert.deepEqual(parse(yaml), JSON.parse(JSON.stringify(list)));
  // C0 controls are written as YAML escapes inside double quotes: none reaches the text raw.
  // eslint-disable-next-line no-control-regex -- finding control characters is the point
  assert.doesNotMatch(yaml, /[\u0000-\u0008\u000b-\u001f]/);
});

test('procfs-only view: a process name with escapes is shown escaped', async () => {
  const root = await fakeProc({
    1: { ns: { net: 10, mnt: 20 }, comm: 'init' },
    2: { ns: { net: 11, mnt: 21 }, comm: `x${CLEAR}${C1}` },
  });
  const view = collectHostView(root, 1, 'n');
  const out = formatHostView(view, 'table');
  assertSafeTable(out, 'TYPE');
  assert.match(out, /x\\x1b\[2J\\x9b2J/);
  assert.equal(formatHostView(view, 'json'), JSON.stringify(view, null, 2) + '\n');
});

function hostileAudit(): ReturnType<ReturnType<typeof createAudit>['result']> {
  const r = hostileReport();
  const pod: PodSummary = {
    namespace: r.metadata.namespace,
    name: r.metadata.name,
    uid: `uid${CLEAR}`,
    mirrorOf: '',
    node: `node${TITLE}`,
    phase: 'Running',
    hostNetwork: true,
    hostPID: false,
    hostIPC: false,
  };
  const audit = createAudit({ findings: [] }, new Map([[`${pod.namespace}/${pod.name}`, pod]]));
  audit.add(r);
  return audit.result({
    checked: true,
    scope: `nodes with a label${FAKE_LINE}`,
    nodesWithoutReports: [`n${TITLE}`],
    podsWithoutReport: [{ namespace: 'shop', name: `ghost${CLEAR}`, node: `n${C1}` }],
    reportsWithoutPod: [],
    hostNetworkPodsWithoutReport: [],
    hostNetworkDisagreements: [],
  });
}

test('audit table and -o wide: a forged report is shown escaped, in its columns and lines', () => {
  for (const output of ['table', 'wide'] as const) {
    const out = formatAudit(hostileAudit(), { output, color: false });
    assertSafeTable(out, 'POD');
    assert.match(out, /^NODE node\\x1b\]0;pwned\\x07: 1 pods, 1 hostNetwork$/m);
    assert.match(out, /^Untrusted: 1 reports disagree/m);
    assert.match(out, /describes pod UID .*; the Pod of this name is uid\\x1b\[2J \(critical\)$/m);
    assert.match(out, /^ {2}pods without a report: shop\/ghost\\x1b\[2J \(n\\x9b2J\)$/m);
    assert.match(out, /^Coverage: agents expected on nodes with a label\\r\\x1b\[1AALL CLEAR\\n$/m);
  }
  const wide = formatAudit(hostileAudit(), { output: 'wide', color: false });
  assert.ok(wide.includes('tcp/8080 (app\\r\\x1b[1AALL CLEAR\\n)'), wide);
  assert.ok(wide.includes('/run/containerd/\\x1b]0;pwned\\x07'), wide);
  // The default table still fits 120 columns: cuts are made on the escaped text.
  const table = formatAudit(hostileAudit(), { output: 'table', color: false });
  for (const line of table.split('\n')) assert.ok(columns(line) <= 120, line);
});

test('audit colours: only nsreport writes an escape sequence, around the severity', () => {
  const out = formatAudit(hostileAudit(), { output: 'table', color: true });
  // eslint-disable-next-line no-control-regex -- the only escapes are the colour's
  const SGR = /\u001b\[[0-9;]*m/g;
  assert.deepEqual([...new Set(out.match(SGR))], ['\u001b[1;31m', '\u001b[0m']);
  assert.doesNotMatch(out.replace(SGR, ''), CONTROL);
});

test('audit -o json is data: exact, byte for byte', () => {
  const result = hostileAudit();
  assert.equal(
    formatAudit(result, { output: 'json', color: false }),
    JSON.stringify(result, null, 2) + '\n',
  );
});
