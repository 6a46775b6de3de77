import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CLUSTER, LAB, NODE, UPSTREAM_CRDS } from '../env.js';
import { createLabClient } from '../lab/cri.js';
import type { OpenReport } from '../../src/report/openreport.js';
import { createPodObjects } from '../lab/kube.js';
import { LAB_NAMESPACE, removePod, runPod, type LabPod } from '../lab/pods.js';
import {
  freePort,
  labAgentArgs,
  metricValue,
  startAgent,
  until,
  type AgentProcess,
} from './agent-process.js';

/**
 * OpenReports output on the real API server with the upstream CRD
 * (github.com/openreports/reports-api, scripts/fetch-crds.sh): the agent with --openreports
 * writes a Report per pod that has a finding that counts, the CRD's schema accepts it, none for
 * a pod without, accepted findings are `skip`, and a Report goes with its pod.
 */
const { socket, image } = LAB;
const { kubeconfig } = CLUSTER;
const crds = UPSTREAM_CRDS;
const crd = (): string => join(crds, 'openreports.io_reports.yaml');
const cri = createLabClient(socket, { timeoutMs: 30_000 });
const agents: AgentProcess[] = [];
const made: LabPod[] = [];

const kubectl = (...args: string[]): ReturnType<typeof spawnSync> =>
  spawnSync('kubectl', ['--kubeconfig', kubeconfig, ...args], { encoding: 'utf8' });

const uidOf = (r: OpenReport): unknown => (r.metadata as { uid?: string }).uid;

function openReport(pod: string): OpenReport | undefined {
  const r = kubectl(
    'get',
    'reports.openreports.io',
    '-n',
    LAB_NAMESPACE,
    `nsreport-${pod}`,
    '-o',
    'json',
  );
  return r.status === 0 ? (JSON.parse(String(r.stdout)) as OpenReport) : undefined;
}

function openReportNames(): string[] {
  const r = kubectl('get', 'reports.openreports.io', '-n', LAB_NAMESPACE, '-o', 'name');
  return String(r.stdout).trim().split('\n').filter(Boolean).sort();
}

async function start(...extra: string[]): Promise<AgentProcess> {
  const port = await freePort();
  const a = startAgent(
    [
      ...labAgentArgs({ kubeconfig, node: NODE, socket, resync: '3000ms' }),
      '--openreports',
      ...extra,
    ],
    port,
  );
  agents.push(a);
  return a;
}

before(() => {
  assert.ok(socket && kubeconfig && crds && NODE, 'run through test/e2e/run.sh');
  execFileSync('kubectl', ['--kubeconfig', kubeconfig, 'apply', '-f', crd()]);
  execFileSync('kubectl', [
    ...['--kubeconfig', kubeconfig, 'wait', '--for=condition=Established', '--timeout=60s'],
    'crd/reports.openreports.io',
  ]);
});

after(async () => {
  await Promise.all(agents.map((a) => a.stop()));
  for (const p of made) await removePod(cri, p.sandboxId).catch(() => undefined);
  kubectl(
    'delete',
    'pod',
    '-n',
    LAB_NAMESPACE,
    'or-doomed',
    '--grace-period=0',
    '--force',
    '--ignore-not-found',
  );
  kubectl('delete', '-f', crd(), '--wait=true');
  cri.close();
});

test('--openreports: a Report per pod with a finding, in the upstream schema; none without; the pod owns it', async () => {
  const a = await start();
  const hostnet = await until('the hostnet pod Report', () => openReport('hostnet'), 30_000);
  assert.equal(hostnet.source, 'nsreport');
  assert.deepEqual(
    { kind: hostnet.scope.kind, name: hostnet.scope.name, namespace: hostnet.scope.namespace },
    { kind: 'Pod', name: 'hostnet', namespace: LAB_NAMESPACE },
  );
  assert.deepEqual(
    hostnet.results.map((r) => [r.policy, r.severity, r.result, r.source]),
    [
      ['NSR001', 'high', 'fail', 'nsreport'],
      ['NSR008', 'medium', 'fail', 'nsreport'],
    ],
  );
  assert.deepEqual(hostnet.summary, { pass: 0, fail: 2, warn: 0, error: 0, skip: 0 });
  // The NamespaceReport's owner (the Pod object) owns the Report too: the GC takes both.
  const nsr = JSON.parse(
    String(kubectl('get', 'nsr', '-n', LAB_NAMESPACE, 'hostnet', '-o', 'json').stdout),
  ) as { metadata: { ownerReferences?: unknown[] } };
  assert.deepEqual(hostnet.metadata.ownerReferences, nsr.metadata.ownerReferences);
  // The non-root lab pod has no finding: no Report.
  await new Promise((r) => setTimeout(r, 4000));
  assert.ok(!openReportNames().includes('report.openreports.io/nsreport-nonroot'));
  assert.ok(openReportNames().includes('report.openreports.io/nsreport-runtime-sock'));
  const text = await fetch(`${a.metricsUrl}/metrics`).then((r) => r.text());
  assert.ok(
    metricValue(text, 'nsreport_report_writes_total', {
      operation: 'openreport-apply',
      result: 'ok',
    }) >= 2,
  );
  assert.equal(
    metricValue(text, 'nsreport_report_writes_total', {
      operation: 'openreport-apply',
      result: 'error',
    }),
    0,
  );
  // Watched, not relisted every few minutes: a Report someone deletes is back within a pass.
  kubectl('delete', 'reports.openreports.io', '-n', LAB_NAMESPACE, 'nsreport-hostnet');
  const back = await until(
    'the deleted Report back',
    () => {
      const r = openReport('hostnet');
      return r && uidOf(r) !== uidOf(hostnet) ? r : undefined;
    },
    10_000,
    () => a.logs().slice(-4000),
  );
  assert.deepEqual(back.results, hostnet.results);
});

test('a Report goes with its pod', async () => {
  const spec = {
    name: 'or-doomed',
    containers: [{ name: 'app', command: ['/bin/sleep', 'infinity'] }],
  };
  const uid = createPodObjects(kubeconfig, [spec], NODE, image).get(spec.name);
  const p = await runPod(cri, spec, image, uid);
  made.push(p);
  const r = await until('the new pod Report', () => openReport('or-doomed'), 30_000);
  assert.deepEqual(
    r.results.map((x) => [x.policy, x.result]),
    [['NSR012', 'fail']],
  );
  await removePod(cri, p.sandboxId);
  await until('its Report gone', () => (openReport('or-doomed') ? undefined : true), 30_000);
});

test('accepted findings are skip results; a pod whose every finding is accepted has no Report', async () => {
  await Promise.all(agents.splice(0).map((x) => x.stop()));
  await start(
    '--accept',
    JSON.stringify([
      { finding: 'NSR012', namespace: LAB_NAMESPACE, reason: 'lab images run as root' },
    ]),
  );
  // private's only finding is NSR012: its Report goes; runtime-sock keeps NSR007, NSR012 skip.
  await until(
    'the private pod Report gone',
    () => (openReport('private') ? undefined : true),
    30_000,
  );
  const sock = await until(
    'runtime-sock with NSR012 skipped',
    () => {
      const x = openReport('runtime-sock');
      return x?.results.some((y) => y.policy === 'NSR012' && y.result === 'skip') ? x : undefined;
    },
    30_000,
  );
  assert.deepEqual(sock.summary, { pass: 0, fail: 1, warn: 0, error: 0, skip: 1 });
  const skipped = sock.results.find((y) => y.policy === 'NSR012');
  assert.deepEqual(
    { reason: skipped?.properties?.acceptedReason, by: skipped?.properties?.acceptedBy },
    { reason: 'lab images run as root', by: 'config' },
  );
});
