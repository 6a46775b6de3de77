import assert from 'node:assert/strict';
import { test } from 'node:test';
import { auditRow, type AuditPod } from '../../src/audit/audit.js';
import { coverage, type CoverageScope } from '../../src/audit/coverage.js';
import type { ClusterReader, PodSummary } from '../../src/audit/reader.js';
import type { AgentDaemonSet, NodeInfo } from '../../src/audit/scope.js';
import { inspect } from '../../src/inspect/inspect.js';
import { buildReport } from '../../src/report/report.js';
import { LABEL_HOST_NETWORK, type NamespaceReport } from '../../src/report/types.js';
import { HOST_NS, sample, sandbox, snapshot } from './snapshot.js';

// Three reports from node-1: a hostNetwork pod `h`, and `web` and `s` in their own netns.
const reports: NamespaceReport[] = inspect(
  snapshot([
    sandbox([sample('srv', { ns: { ...HOST_NS, mnt: 9, pid: 10, ipc: 11 }, sandboxId: 'h' })], {
      name: 'h',
      id: 'h',
      network: 'NODE',
    }),
    sandbox([sample('a', { sandboxId: 'w' })], { name: 'web', id: 'w' }),
    sandbox([sample('b', { sandboxId: 's' })], { name: 's', id: 's' }),
  ]),
).map((p) => buildReport(p, null));

const pod = (name: string, node: string, hostNetwork: boolean): PodSummary => ({
  namespace: 'shop',
  name,
  node,
  hostNetwork,
});

// What the pods' specs say: `web` claims hostNetwork but its report observes its own netns;
// `ghost` on node-2 (no agent there) has no report; win-1 is outside the agent's nodeSelector.
const PODS = [
  pod('h', 'node-1', true),
  pod('web', 'node-1', true),
  pod('s', 'node-1', false),
  pod('ghost', 'node-2', true),
  pod('iis', 'win-1', true),
  pod('pending', '', true),
];
const LINUX = { 'kubernetes.io/os': 'linux' };
const NODES = new Map<string, NodeInfo>([
  ['node-1', { name: 'node-1', labels: LINUX, taints: [] }],
  ['node-2', { name: 'node-2', labels: LINUX, taints: [] }],
  ['win-1', { name: 'win-1', labels: { 'kubernetes.io/os': 'windows' }, taints: [] }],
]);
const AGENT: AgentDaemonSet = {
  namespace: 'nsreport',
  name: 'nsreport',
  nodeSelector: LINUX,
  nodeSelectorTerms: [],
  tolerations: [],
};

function fakeReader(o: { podsAllowed?: boolean; daemonSets?: AgentDaemonSet[] | null }) {
  const calls: string[] = [];
  const reader: ClusterReader = {
    server: 'https://fake',
    eachReportPage({ labelSelector }, onPage) {
      calls.push(`reports ${labelSelector}`);
      const hostNetOnly = labelSelector.includes(`${LABEL_HOST_NETWORK}=true`);
      onPage(
        reports.filter((r) => !hostNetOnly || r.metadata.labels[LABEL_HOST_NETWORK] === 'true'),
      );
      return Promise.resolve();
    },
    eachPodPage(_o, onPage) {
      if (o.podsAllowed === false) return Promise.resolve(false);
      onPage(PODS.slice(0, 3));
      onPage(PODS.slice(3));
      return Promise.resolve(true);
    },
    nodeHasReports(node) {
      calls.push(`nodeHasReports ${node}`);
      return Promise.resolve(reports.some((r) => r.report.node === node));
    },
    getReport(namespace, name) {
      const found = reports.find(
        (r) => r.metadata.namespace === namespace && r.metadata.name === name,
      );
      return Promise.resolve(found ?? null);
    },
    agentDaemonSets: () => Promise.resolve(o.daemonSets === undefined ? [AGENT] : o.daemonSets),
    nodes: () => Promise.resolve(NODES),
  };
  return { reader, calls };
}

const rows = reports.map((r) => auditRow(r, { findings: [] })).filter((r): r is AuditPod => !!r);
const ALL: CoverageScope = { namespace: null, node: null, pageSize: 500 };

test('coverage: a node without reports, a hostNetwork pod without one, a report that disagrees', async () => {
  for (const complete of [true, false]) {
    const { reader, calls } = fakeReader({});
    const c = await coverage(reader, ALL, rows, complete);
    assert.equal(c.checked, true);
    assert.deepEqual(c.nodesWithoutReports, ['node-2']);
    assert.deepEqual(c.checked && c.nodesOutOfScope, ['win-1']);
    assert.deepEqual(c.hostNetworkPodsWithoutReport, [
      { namespace: 'shop', name: 'ghost', node: 'node-2' },
    ]);
    assert.deepEqual(c.hostNetworkDisagreements, [
      { namespace: 'shop', name: 'web', node: 'node-1', observed: 'false' },
    ]);
    // With every report in hand nothing is read twice; with a filtered list the hostNetwork
    // reports and the nodes without a row are asked for.
    assert.equal(
      calls.some((c) => c.startsWith('reports ')),
      !complete,
    );
    assert.deepEqual(
      calls.filter((c) => c.startsWith('nodeHasReports')),
      complete ? [] : ['nodeHasReports node-2'],
    );
  }
});

test('coverage: one node in scope, and every node when the agent DaemonSets cannot be read', async () => {
  const one = await coverage(fakeReader({}).reader, { ...ALL, node: 'node-2' }, [], true);
  assert.deepEqual(one.nodesWithoutReports, ['node-2']);
  assert.deepEqual(one.hostNetworkPodsWithoutReport, [
    { namespace: 'shop', name: 'ghost', node: 'node-2' },
  ]);
  const noScope = await coverage(fakeReader({ daemonSets: null }).reader, ALL, rows, true);
  assert.equal(
    noScope.checked && noScope.scope,
    'every node (the agent DaemonSets could not be read)',
  );
  assert.deepEqual(noScope.nodesWithoutReports, ['node-2', 'win-1']);
});

test('coverage: not allowed to list pods is said, not an error', async () => {
  const c = await coverage(fakeReader({ podsAllowed: false }).reader, ALL, rows, true);
  assert.equal(c.checked, false);
  assert.equal(!c.checked && c.reason, 'no permission to list pods');
});
