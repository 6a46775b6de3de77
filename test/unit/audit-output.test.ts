import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createAudit, type AuditResult } from '../../src/audit/audit.js';
import { formatAudit } from '../../src/cli/audit-output.js';
import type { DeclaredMount } from '../../src/cri/types.js';
import { inspect } from '../../src/inspect/inspect.js';
import type { Listener } from '../../src/inspect/types.js';
import { buildReport } from '../../src/report/report.js';
import { HOST_NS, sample, sandbox, snapshot } from './snapshot.js';

/**
 * A control-plane-like pod on a node with a long name: a long pod name, six kubelet volumes of
 * its own, three sensitive host paths, listeners on the node and on loopback, many findings.
 */
function heavyNode(): AuditResult {
  const uid = '0a47ab6e-488c-4359-b595-78b18a5b3edb';
  const own = ['etc-hosts', 'containers/etcd/c1b34b85', 'volumes/kubernetes.io~projected/token'];
  const mounts: DeclaredMount[] = [
    ...own.map((p) => ({
      containerPath: `/own/${p}`,
      hostPath: `/var/lib/kubelet/pods/${uid}/${p}`,
      readOnly: false,
      propagation: 'None' as const,
    })),
    ...['/var/lib/etcd', '/etc/kubernetes/pki/etcd', '/run/containerd'].map((p) => ({
      containerPath: p,
      hostPath: p,
      readOnly: p === '/run/containerd',
      propagation: 'None' as const,
    })),
  ];
  const name = 'etcd-ip-10-0-100-200.eu-west-3.compute.internal';
  const listeners: Listener[] = [
    ['127.0.0.1', 2381],
    ['10.0.100.200', 2379],
    ['10.0.100.200', 2380],
    ['127.0.0.1', 2379],
  ].map(([address, port]) => ({
    protocol: 'tcp' as const,
    address: String(address),
    port: Number(port),
    container: 'etcd',
    containerId: 'id-etcd',
  }));
  const snap = snapshot(
    [
      sandbox([sample('etcd', { ns: { ...HOST_NS, mnt: 9 }, mounts, privileged: true, uid: 0 })], {
        name,
        uid,
        namespace: 'kube-system',
        network: 'NODE',
      }),
    ],
    { networks: new Map([[HOST_NS.net ?? 1, { interfaces: [], listeners }]]) },
  );
  const audit = createAudit({ findings: [] });
  for (const p of inspect(snap)) audit.add(buildReport(p, null));
  return audit.result({
    checked: true,
    nodesWithoutReports: ['n7', 'n8', 'n9', 'n10', 'n11'],
    podsWithoutReport: [],
    reportsWithoutPod: [],
    hostNetworkPodsWithoutReport: [],
    hostNetworkDisagreements: [],
  });
}

test('audit table: a heavy row fits 120 columns, lists summarised by their worst item', () => {
  const out = formatAudit(heavyNode(), { output: 'table', color: false });
  for (const line of out.split('\n')) assert.ok(line.length <= 120, `${line.length}: ${line}`);
  const row = out.split('\n').find((l) => l.includes('kube-system/'));
  assert.ok(row);
  // Worst first: critical NSR007 (the runtime socket directory) and NSR009 before NSR001 (high).
  assert.match(row, /tcp\/2379 \+3/);
  assert.match(row, /\/run\/containerd \+2/);
  assert.match(row, /NSR007,NSR009 \+6\s+critical$/);
  assert.doesNotMatch(out, /\/var\/lib\/kubelet\/pods/, "the pod's own volumes are not sensitive");
  assert.match(out, /nodes with pods but no reports: n7, n8, n9 and 2 more \(-o wide\)/);
  assert.ok(!out.includes('\u001b['), 'no color unless asked');
});

test('audit -o wide: every item; color only when asked', () => {
  const wide = formatAudit(heavyNode(), { output: 'wide', color: false });
  assert.match(
    wide,
    /tcp\/2379 \(etcd\),tcp\/2380 \(etcd\),tcp\/2381 \(etcd, loopback\),tcp\/2379 \(etcd, loopback\)/,
  );
  assert.match(wide, /\/run\/containerd,\/etc\/kubernetes\/pki\/etcd,\/var\/lib\/etcd/);
  assert.match(wide, /n7, n8, n9, n10, n11/);
  const colored = formatAudit(heavyNode(), { output: 'table', color: true });
  assert.ok(colored.includes('\u001b[1;31mcritical\u001b[0m\n'));
});

test('audit -o csv: RFC 4180 quoting, a formula guard, control characters escaped', () => {
  const cases: [string, string][] = [
    ['web', 'web'],
    ['=HYPERLINK("http://x")', `"'=HYPERLINK(""http://x"")"`],
    ['+1', "'+1"],
    ['-1', "'-1"],
    ['@SUM(A1)', "'@SUM(A1)"],
    ['\tx', "'\\tx"],
    ['\rx', "'\\rx"],
    ['a,b', '"a,b"'],
    ['a\nb', 'a\\nb'],
    ['x\u001b[2J', 'x\\x1b[2J'],
    ['x=1', 'x=1'],
  ];
  const audit = createAudit({ findings: [] });
  for (const [name] of cases) {
    const [pod] = inspect(snapshot([sandbox([sample('app')], { name })]));
    assert.ok(pod);
    audit.add(buildReport(pod, null));
  }
  const csv = formatAudit(
    audit.result({
      checked: false,
      reason: 'test',
      nodesWithoutReports: [],
      podsWithoutReport: [],
      reportsWithoutPod: [],
      hostNetworkPodsWithoutReport: [],
      hostNetworkDisagreements: [],
    }),
    {
      output: 'csv',
      color: false,
    },
  );
  const lines = csv.trimEnd().split('\n');
  assert.equal(lines.length, cases.length + 1, 'one line a pod');
  const pods = lines.slice(1).map((l) => /^node-1,shop,((?:"(?:[^"]|"")*"|[^,]*)),/.exec(l)?.[1]);
  assert.deepEqual(pods.sort(), cases.map(([, want]) => want).sort());
});
