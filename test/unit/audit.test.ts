import assert from 'node:assert/strict';
import { test } from 'node:test';
import { auditRow, createAudit, reaches } from '../../src/audit/audit.js';
import { inspect } from '../../src/inspect/inspect.js';
import { buildReport } from '../../src/report/report.js';
import { HOST_NS, sample, sandbox, snapshot } from './snapshot.js';

const hostnet = sandbox(
  [sample('srv', { ns: { ...HOST_NS, mnt: 9, pid: 10, ipc: 11 }, sandboxId: 'h' })],
  { name: 'h', id: 'h', network: 'NODE' },
);
const sock = sandbox(
  [
    sample('c', {
      sandboxId: 's',
      mounts: [
        {
          containerPath: '/run/containerd/containerd.sock',
          hostPath: '/run/containerd/containerd.sock',
          readOnly: false,
          propagation: 'None',
        },
      ],
    }),
  ],
  { name: 's', id: 's' },
);
const reports = inspect(snapshot([hostnet, sock, sandbox([sample('a')])])).map((p) =>
  buildReport(p, null),
);

test('rows: hostNetwork, sensitive mounts, findings; --finding filters on the client', () => {
  const h = auditRow(
    reports.find((r) => r.metadata.name === 'h')!,
    { findings: [] },
  );
  assert.equal(h?.hostNetwork, true);
  const s = auditRow(
    reports.find((r) => r.metadata.name === 's')!,
    { findings: [] },
  );
  assert.deepEqual(s?.sensitiveMounts, ['/run/containerd/containerd.sock']);
  assert.equal(
    auditRow(
      reports.find((r) => r.metadata.name === 'web')!,
      { findings: ['NSR007'] },
    ),
    null,
  );
});

test('grouped by node, summary counts, --fail-on threshold', () => {
  const a = createAudit({ findings: [] });
  for (const r of reports) a.add(r);
  const result = a.result({
    checked: true,
    nodesWithoutReports: [],
    podsWithoutReport: [],
    reportsWithoutPod: [],
    hostNetworkPodsWithoutReport: [],
    hostNetworkDisagreements: [],
  });
  assert.equal(result.summary.reports, 3);
  assert.equal(result.summary.hostNetworkPods, 1);
  assert.deepEqual(
    result.nodes.map((n) => n.name),
    ['node-1'],
  );
  assert.equal(result.summary.highestSeverity, 'critical');
  assert.equal(reaches(result, 'critical'), true);
  const b = createAudit({ findings: ['NSR001'] });
  for (const r of reports) b.add(r);
  const only = b.result({
    checked: false,
    nodesWithoutReports: [],
    podsWithoutReport: [],
    reportsWithoutPod: [],
    hostNetworkPodsWithoutReport: [],
    hostNetworkDisagreements: [],
  });
  assert.equal(only.summary.pods, 1);
  assert.equal(reaches(only, 'critical'), false);
  assert.equal(reaches(only, 'high'), true);
});
