import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CLUSTER, LAB, NODE, ROOT as root } from '../env.js';
import { createLabClient } from '../lab/cri.js';
import { nsreport } from '../nsreport.js';
import { contentHash } from '../../src/report/report.js';
import type { NamespaceReport } from '../../src/report/types.js';
import { createPodObjects, kubectl } from '../lab/kube.js';
import { ctrTaskPids, lsnsInodes } from './oracles.js';
import { removePod, runPod, type LabPod, type LabPodSpec } from '../lab/pods.js';
import {
  freePort,
  httpGet,
  labAgentArgs,
  labScanArgs,
  metricValue,
  startAgent,
  until,
  type AgentProcess,
} from './agent-process.js';

/**
 * `nsreport agent` as a separate process against the lab's containerd and a real control plane
 * (test/cluster), with the real CRD, kubectl, kube-controller-manager and Prometheus.
 */
const { socket, dir: labDir, image } = LAB;
const { dir: clusterDir, kubeconfig } = CLUSTER;
const RESYNC_MS = 3000;
const cri = createLabClient(socket, { timeoutMs: 30_000 });
const SLEEP = ['/bin/sleep', 'infinity'];

let agent: AgentProcess;
let port: number;
let pods: LabPod[];

function agentArgs(): string[] {
  return [
    ...labAgentArgs({ kubeconfig, node: NODE, socket, resync: `${RESYNC_MS}ms` }),
    ...['--api-timeout', '2s', '--log-level', 'debug'],
  ];
}

function reports(): Map<string, NamespaceReport> {
  const list = JSON.parse(
    kubectl(kubeconfig, ['get', 'namespacereports', '-n', 'nsr-lab', '-o', 'json']),
  ) as { items: NamespaceReport[] };
  return new Map(list.items.map((r) => [r.metadata.name, r]));
}

async function metrics(): Promise<string> {
  const r = await httpGet(`${agent.metricsUrl}/metrics`);
  assert.equal(r.status, 200);
  return r.body;
}

async function newPod(name: string): Promise<LabPod> {
  const spec: LabPodSpec = { name, containers: [{ name: 'app', command: SLEEP }] };
  const uid = createPodObjects(kubeconfig, [spec], NODE, image).get(name);
  return runPod(cri, spec, image, uid);
}

/** As the node would after the containers stopped: no kubelet here to confirm a graceful deletion. */
function deletePodObject(name: string): void {
  kubectl(kubeconfig, ['delete', 'pod', '-n', 'nsr-lab', name, '--grace-period=0', '--force']);
}

async function readyz(): Promise<number> {
  return (await httpGet(`${agent.metricsUrl}/readyz`)).status;
}

before(async () => {
  assert.ok(socket && kubeconfig && clusterDir, 'run through test/e2e/run.sh');
  pods = JSON.parse(readFileSync(join(labDir, 'pods.json'), 'utf8')) as LabPod[];
  port = await freePort();
  agent = startAgent(agentArgs(), port);
  await until(
    'agent /readyz',
    async () => ((await readyz()) === 200 ? true : undefined),
    30_000,
  ).catch((err: unknown) => {
    throw new Error(`${String(err)}\nagent logs:\n${agent.logs()}`);
  });
});

after(async () => {
  await agent.stop();
  cri.close();
});

test('every lab pod gets a report with the content nsreport scan shows, within one resync', async () => {
  await until(
    'a report per lab pod',
    () => (reports().size >= pods.length ? true : undefined),
    RESYNC_MS + 10_000,
  );
  const scan = nsreport(labScanArgs(socket, '--node-name', NODE));
  assert.equal(scan.code, 0, scan.stderr);
  const local = new Map(
    (JSON.parse(scan.stdout) as { items: NamespaceReport[] }).items.map((r) => [
      r.metadata.name,
      r,
    ]),
  );
  const api = reports();
  for (const p of pods) {
    const r = api.get(p.name);
    assert.ok(r, p.name);
    assert.deepEqual(r.report, local.get(p.name)?.report, p.name);
    assert.deepEqual(r.metadata.labels, local.get(p.name)?.metadata.labels, p.name);
    assert.equal(r.metadata.ownerReferences?.[0]?.uid, p.uid, 'owned by the Pod object');
    assert.equal(contentHash(r), contentHash(local.get(p.name) ?? {}), p.name);
  }
});

test('kubectl get namespacereports prints the columns; a label selector returns exactly the hostNetwork pods', () => {
  const table = kubectl(kubeconfig, ['get', 'namespacereports', '-A']);
  assert.match(
    table,
    /^NAMESPACE\s+NAME\s+NODE\s+HOSTNET\s+CONTAINERS\s+FINDINGS\s+SEVERITY\s+AGE$/m,
  );
  assert.match(
    table,
    new RegExp(`^nsr-lab\\s+hostnet\\s+${NODE}\\s+true\\s+1\\s+2\\s+high\\s+\\S+$`, 'm'),
  );
  assert.match(
    table,
    new RegExp(`^nsr-lab\\s+bidir\\s+${NODE}\\s+false\\s+1\\s+2\\s+critical\\s+\\S+$`, 'm'),
  );
  const wide = kubectl(kubeconfig, ['get', 'nsr', '-A', '-o', 'wide']);
  assert.match(wide, /SEVERITY\s+AGE\s+ACCEPTED\s+NETNS\s+PID$/m);
  const hostnet = kubectl(kubeconfig, [
    'get',
    'nsr',
    '-A',
    '-l',
    'nsreport.dev/host-network=true',
    '-o',
    'name',
  ])
    .trim()
    .split('\n');
  assert.deepEqual(hostnet, ['namespacereport.nsreport.dev/hostnet']);
  const critical = kubectl(kubeconfig, [
    'get',
    'nsreport',
    '-n',
    'nsr-lab',
    '-l',
    'nsreport.dev/severity=critical',
    '-o',
    'name',
  ])
    .trim()
    .split('\n')
    .sort();
  assert.deepEqual(critical, [
    'namespacereport.nsreport.dev/bidir',
    'namespacereport.nsreport.dev/runtime-sock',
  ]);
});

test('a rescan with nothing changed makes zero API writes', async () => {
  const before1 = await metrics();
  await new Promise((r) => setTimeout(r, RESYNC_MS * 2.5));
  const after1 = await metrics();
  assert.ok(
    metricValue(after1, 'nsreport_scans_total', { result: 'ok' }) >=
      metricValue(before1, 'nsreport_scans_total', { result: 'ok' }) + 2,
  );
  assert.equal(
    metricValue(after1, 'nsreport_report_writes_total'),
    metricValue(before1, 'nsreport_report_writes_total'),
  );
});

test('a new pod gets its report within one resync (containerd 1.6 has no events: polling)', async () => {
  assert.match(agent.logs(), /polling every resync/);
  const t0 = Date.now();
  await newPod('late');
  await until(
    'the report of the new pod',
    () => (reports().has('late') ? true : undefined),
    RESYNC_MS + 5000,
  );
  assert.ok(Date.now() - t0 <= RESYNC_MS + 2000, `${Date.now() - t0} ms`);
});

test('a pod whose containers all exited still gets its report, with its network namespace through its infra process', async () => {
  const spec: LabPodSpec = {
    name: 'completed',
    containers: [{ name: 'job', command: ['/bin/true'] }],
  };
  const uid = createPodObjects(kubeconfig, [spec], NODE, image).get(spec.name);
  const pod = await runPod(cri, spec, image, uid);
  const r = await until(
    'the report of the completed pod, its container seen exited',
    () => {
      const x = reports().get('completed');
      return x?.report.containers[0]?.state === 'exited' ? x : undefined;
    },
    RESYNC_MS * 2 + 5000,
  );
  // containerd's pause process still holds the pod's network namespace.
  const pause = ctrTaskPids(socket).get(pod.sandboxId);
  assert.ok(pause, 'the sandbox task');
  assert.equal(r.report.network.netns, lsnsInodes(pause).net);
  assert.equal(r.report.hostNamespaces.network, 'false');
  assert.equal(r.report.containers[0]?.pid, 0, 'no PID for an exited container');
  await removePod(cri, pod.sandboxId);
  deletePodObject('completed');
});

test('removing a sandbox deletes its report', async () => {
  const late = (await cri.listSandboxes()).find((s) => s.pod.name === 'late');
  assert.ok(late);
  await removePod(cri, late.id);
  await until(
    'the report to go',
    () => (reports().has('late') ? undefined : true),
    RESYNC_MS + 5000,
  );
  deletePodObject('late');
});

test('SIGTERM exits 0; deleted Pods are garbage-collected; reports left by a previous run go at start-up', async () => {
  const gc = await newPod('gc-me');
  const left = await newPod('left-behind');
  await until(
    'both reports',
    () => (reports().has('gc-me') && reports().has('left-behind') ? true : undefined),
    RESYNC_MS + 5000,
  );
  const stopped = await agent.stop();
  assert.equal(stopped.code, 0);
  assert.ok(stopped.ms < 10_000, `${stopped.ms} ms`);

  deletePodObject('gc-me');
  await until(
    'the garbage collector to delete the orphaned report',
    () => (reports().has('gc-me') ? undefined : true),
    60_000,
  );
  await removePod(cri, gc.sandboxId);
  await removePod(cri, left.sandboxId);
  assert.ok(reports().has('left-behind'), 'nothing deletes it while the agent is down');

  agent = startAgent(agentArgs(), port);
  await until(
    'the leftover report to be deleted at start-up',
    () => (reports().has('left-behind') ? undefined : true),
    RESYNC_MS + 10_000,
  );
  const m = await metrics();
  assert.equal(
    metricValue(m, 'nsreport_report_writes_total', { operation: 'apply' }),
    0,
    'unchanged reports are not rewritten after a restart',
  );
  assert.ok(
    metricValue(m, 'nsreport_report_writes_total', { operation: 'delete', result: 'ok' }) >= 1,
  );
  deletePodObject('left-behind');
});

test('kube-apiserver down: the agent keeps scanning, /readyz fails, and it converges after the restart', async () => {
  const spec: LabPodSpec = { name: 'during-outage', containers: [{ name: 'app', command: SLEEP }] };
  const uid = createPodObjects(kubeconfig, [spec], NODE, image).get(spec.name);
  execFileSync('bash', [join(root, 'test/cluster/cluster.sh'), 'stop-apiserver', clusterDir]);
  try {
    await until(
      '/readyz to fail',
      async () => ((await readyz()) === 503 ? true : undefined),
      RESYNC_MS * 2 + 10_000,
    );
    const scans = metricValue(await metrics(), 'nsreport_scans_total', { result: 'ok' });
    await runPod(cri, spec, image, uid);
    await until(
      'scans to go on',
      async () =>
        metricValue(await metrics(), 'nsreport_scans_total', { result: 'ok' }) >= scans + 2
          ? true
          : undefined,
      RESYNC_MS * 4 + 10_000,
    );
    assert.ok(
      metricValue(await metrics(), 'nsreport_report_writes_total', { result: 'error' }) >= 1,
    );
  } finally {
    execFileSync('bash', [join(root, 'test/cluster/cluster.sh'), 'start-apiserver', clusterDir]);
  }
  await until(
    'the report written during the outage',
    () => (reports().has('during-outage') ? true : undefined),
    60_000,
  );
  await until(
    '/readyz to recover',
    async () => ((await readyz()) === 200 ? true : undefined),
    60_000,
  );
  assert.ok(
    pods.every((p) => reports().has(p.name)),
    'nothing lost',
  );
});

test('a containerd restart is survived the same way', async () => {
  execFileSync('bash', [join(root, 'test/lab/lab.sh'), 'stop-containerd', labDir]);
  try {
    await until(
      '/readyz to fail',
      async () => ((await readyz()) === 503 ? true : undefined),
      RESYNC_MS * 2 + 10_000,
    );
  } finally {
    execFileSync('bash', [join(root, 'test/lab/lab.sh'), 'start-containerd', labDir]);
  }
  await until(
    '/readyz to recover',
    async () => ((await readyz()) === 200 ? true : undefined),
    RESYNC_MS * 3 + 10_000,
  );
  await newPod('after-restart');
  await until(
    'the report of a pod made after the restart',
    () => (reports().has('after-restart') ? true : undefined),
    RESYNC_MS + 5000,
  );
  assert.ok(pods.every((p) => reports().has(p.name)));
});

test('Prometheus scrapes the agent; promtool accepts /metrics; every Grafana dashboard query returns data', async () => {
  const text = await metrics();
  const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  assert.equal(check.status, 0, check.stdout + check.stderr);
  const dir = mkdtempSync(join(tmpdir(), 'nsreport-prom-'));
  const promPort = await freePort();
  writeFileSync(
    join(dir, 'prometheus.yml'),
    `global: {scrape_interval: 1s}\nscrape_configs:\n  - job_name: nsreport\n    static_configs: [{targets: ['127.0.0.1:${port}']}]\n`,
  );
  const prom = spawn(
    'prometheus',
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${promPort}`,
    ],
    { stdio: 'ignore' },
  );
  try {
    const hostNetworkPods =
      reports().size > 0
        ? [...reports().values()].filter((r) => r.report.hostNamespaces.network === 'true').length
        : 0;
    assert.equal(hostNetworkPods, 1);
    const value = await until(
      'Prometheus to answer nsreport_pods{host_network="true"}',
      async () => {
        const r = await httpGet(
          `http://127.0.0.1:${promPort}/api/v1/query?query=${encodeURIComponent('nsreport_pods{host_network="true"}')}`,
        );
        const doc =
          r.status === 200
            ? (JSON.parse(r.body) as { data: { result: { value: [number, string] }[] } })
            : null;
        return doc?.data.result[0]?.value[1];
      },
      30_000,
    );
    assert.equal(Number(value), hostNetworkPods);
    // Every query of the chart's Grafana dashboard returns data from this agent: no panel says
    // "No data" (rates need a few scrapes and scans: waited for).
    const dashboard = JSON.parse(
      readFileSync(join(root, 'charts/nsreport/dashboards/nsreport.json'), 'utf8'),
    ) as { panels: { title: string; targets: { expr: string }[] }[] };
    const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => [p.title, t.expr]));
    assert.ok(exprs.length >= 10);
    for (const [title, expr] of exprs) {
      await until(
        `dashboard panel "${title}" to have data: ${expr}`,
        async () => {
          const r = await httpGet(
            `http://127.0.0.1:${promPort}/api/v1/query?query=${encodeURIComponent(expr ?? '')}`,
          );
          assert.equal(r.status, 200, `${title}: ${r.body}`);
          const doc = JSON.parse(r.body) as { data: { result: unknown[] } };
          return doc.data.result.length > 0 ? true : undefined;
        },
        30_000,
      );
    }
  } finally {
    prom.kill('SIGTERM');
    await new Promise((r) => prom.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
});
