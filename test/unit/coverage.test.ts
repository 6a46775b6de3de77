import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createAudit } from '../../src/audit/audit.js';
import { coverage, readPods, type CoverageScope } from '../../src/audit/coverage.js';
import type { ClusterReader, PodSummary } from '../../src/audit/reader.js';
import type { AgentDaemonSet, NodeInfo } from '../../src/audit/scope.js';
import { inspect } from '../../src/inspect/inspect.js';
import { buildReport } from '../../src/report/report.js';
import type { NamespaceReport } from '../../src/report/types.js';
import { HOST_NS, sample, sandbox, snapshot } from './snapshot.js';

// Reports from node-1: a hostNetwork pod `h`, `web` and `s` in their own netns, `orphan` whose
// Pod is gone; and `forged`, a report claiming node-3 for a pod bound to node-2.
const reports: NamespaceReport[] = inspect(
  snapshot([
    sandbox([sample('srv', { ns: { ...HOST_NS, mnt: 9, pid: 10, ipc: 11 }, sandboxId: 'h' })], {
      name: 'h',
      id: 'h',
      network: 'NODE',
    }),
    sandbox([sample('a', { sandboxId: 'w' })], { name: 'web', id: 'w' }),
    sandbox([sample('b', { sandboxId: 's' })], { name: 's', id: 's' }),
    sandbox([sample('c', { sandboxId: 'o' })], { name: 'orphan', id: 'o' }),
    sandbox([sample('d', { sandboxId: 'f' })], { name: 'forged', id: 'f' }),
  ]),
)
  .map((p) => (p.pod.name === 'forged' ? { ...p, node: 'node-3' } : p))
  .map((p) => buildReport(p, null));

const pod = (name: string, node: string, hostNetwork: boolean, phase = 'Running'): PodSummary => ({
  namespace: 'shop',
  name,
  uid: `uid-${name}`,
  mirrorOf: '',
  node,
  phase,
  hostNetwork,
  hostPID: false,
  hostIPC: false,
});

// What the pods' specs say: `web` claims hostNetwork but its report observes its own netns;
// `ghost` on node-2 (no agent there) has no report, nor has `forged` one from node-2's agent;
// win-1 is outside the agent's nodeSelector; `done` has finished.
const PODS = [
  pod('h', 'node-1', true),
  pod('web', 'node-1', true),
  pod('s', 'node-1', false),
  pod('ghost', 'node-2', true),
  pod('forged', 'node-2', false),
  pod('iis', 'win-1', true),
  pod('pending', '', true, 'Pending'),
  pod('starting', 'node-1', false, 'Pending'),
  pod('done', 'node-1', false, 'Succeeded'),
];
const LINUX = { 'kubernetes.io/os': 'linux' };
const NODES = new Map<string, NodeInfo>([
  ['node-1', { name: 'node-1', labels: LINUX, taints: [] }],
  ['node-2', { name: 'node-2', labels: LINUX, taints: [] }],
  ['node-3', { name: 'node-3', labels: LINUX, taints: [] }],
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
  const reader: ClusterReader = {
    server: 'https://fake',
    eachReportPage(_o, onPage) {
      onPage(reports);
      return Promise.resolve();
    },
    eachPodPage(_o, onPage) {
      if (o.podsAllowed === false) return Promise.resolve(false);
      onPage(PODS.slice(0, 3));
      onPage(PODS.slice(3));
      return Promise.resolve(true);
    },
    agentDaemonSets: () => Promise.resolve(o.daemonSets === undefined ? [AGENT] : o.daemonSets),
    nodes: () => Promise.resolve(NODES),
    runtimeClasses: () => Promise.resolve(new Map([['sandboxed', 'debrunc']])),
  };
  return reader;
}

const ALL: CoverageScope = { namespace: null, node: null, pageSize: 500 };

async function run(
  scope: CoverageScope,
  o: Parameters<typeof fakeReader>[0] = {},
): Promise<ReturnType<ReturnType<typeof createAudit>['result']>> {
  const reader = fakeReader(o);
  const pods = await readPods(reader, scope);
  const audit = createAudit({ findings: [], node: scope.node }, pods);
  await reader.eachReportPage({ namespace: null, labelSelector: '', pageSize: 500 }, (items) => {
    for (const r of items) audit.add(r);
  });
  return audit.result(await coverage(reader, scope, pods, audit.tally));
}

const ref = (name: string, node: string): object => ({ namespace: 'shop', name, node });

test('coverage: nodes without a report that holds, pods without reports, reports without pods', async () => {
  const c = (await run(ALL)).coverage;
  assert.equal(c.checked, true);
  // node-2 runs pods but its only "report" is the forged one claiming node-3; node-3 has no pods.
  assert.deepEqual(c.nodesWithoutReports, ['node-2']);
  assert.deepEqual(c.nodesOutOfScope, ['win-1']);
  assert.deepEqual(c.podsWithoutReport, [ref('ghost', 'node-2'), ref('starting', 'node-1')]);
  assert.deepEqual(c.hostNetworkPodsWithoutReport, [ref('ghost', 'node-2')]);
  assert.deepEqual(c.reportsWithoutPod, [ref('orphan', 'node-1')]);
  assert.deepEqual(c.hostNetworkDisagreements, [
    { namespace: 'shop', name: 'web', node: 'node-1', observed: 'false' },
  ]);
});

test("rows: a forged report is shown on its Pod's node, whatever the filters, and counts for --fail-on", async () => {
  const result = await run({ ...ALL, node: 'node-2' });
  const rows = result.nodes.flatMap((n) => n.pods.map((p) => [n.name, p.name, p.severity]));
  assert.deepEqual(rows, [['node-2', 'forged', 'critical']]);
  const forged = result.nodes[0]?.pods[0];
  assert.deepEqual(
    forged?.integrity?.map((i) => i.check),
    ['node'],
  );
  assert.equal(result.summary.untrusted, 1);
  assert.equal(result.summary.highestSeverity, 'critical');
  const all = await run(ALL);
  const checks = new Map(
    all.nodes.flatMap((n) => n.pods.map((p) => [p.name, (p.integrity ?? []).map((i) => i.check)])),
  );
  assert.deepEqual(checks.get('web'), ['host-network']);
  assert.deepEqual(checks.get('orphan'), ['pod']);
  assert.deepEqual(checks.get('h'), []);
  assert.deepEqual(checks.get('s'), []);
});

test('coverage: one node in scope, and every node when the agent DaemonSets cannot be read', async () => {
  const one = (await run({ ...ALL, node: 'node-2' })).coverage;
  assert.deepEqual(one.nodesWithoutReports, ['node-2']);
  assert.deepEqual(one.hostNetworkPodsWithoutReport, [ref('ghost', 'node-2')]);
  assert.deepEqual(one.reportsWithoutPod, []);
  const noScope = (await run(ALL, { daemonSets: null })).coverage;
  assert.equal(noScope.scope, 'every node (the agent DaemonSets could not be read)');
  assert.deepEqual(noScope.nodesWithoutReports, ['node-2', 'win-1']);
});

test('coverage: not allowed to list pods is said, not an error; nothing is checked then', async () => {
  const result = await run(ALL, { podsAllowed: false });
  assert.equal(result.coverage.checked, false);
  assert.equal(result.coverage.reason, 'no permission to list pods');
  assert.ok(result.nodes.every((n) => n.pods.every((p) => p.integrity === undefined)));
});

test('coverage: a pod asking for hostUsers: false whose report shows the host’s user namespace', async () => {
  const asked = PODS.map((p) =>
    p.name === 's' ? { ...p, asks: { userNamespace: true as const } } : p,
  );
  const reader = {
    ...fakeReader({}),
    eachPodPage: (_o: unknown, onPage: (p: PodSummary[]) => void) => {
      onPage(asked);
      return Promise.resolve(true);
    },
  } as ClusterReader;
  const pods = await readPods(reader, ALL);
  const audit = createAudit({ findings: [], node: null }, pods);
  await reader.eachReportPage({ namespace: null, labelSelector: '', pageSize: 500 }, (items) => {
    for (const r of items) audit.add(r);
  });
  const c = await coverage(reader, ALL, pods, audit.tally);
  assert.deepEqual(c.userNamespaceDisagreements, [
    { namespace: 'shop', name: 's', node: 'node-1' },
  ]);
  // The fake nodes say nothing of their runtimes: listed as such, nothing judged.
  assert.deepEqual(c.unmetRequests, []);
  assert.ok(c.nodeRuntimes?.every((n) => n.runtime === undefined));
});
