import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createLabClient, type LabRuntimeClient } from '../lab/cri.js';
import { contentHash, labelValue } from '../../src/report/report.js';
import type { NamespaceReport } from '../../src/report/types.js';
import { createPodObjects, kubectl } from '../lab/kube.js';
import { LAB_NAMESPACE, removePod, runPod, type LabPod, type LabPodSpec } from '../lab/pods.js';
import {
  freePort,
  labAgentArgs,
  metricValue,
  startAgent,
  until,
  type AgentProcess,
} from './agent-process.js';

import { CLUSTER, LAB, ROOT as root } from '../env.js';
import { nsreport } from '../nsreport.js';
/**
 * Level-triggered reconciliation on the real API server (with its garbage collector): reports
 * deleted, edited or wiped with their CRD come back without an agent restart; static pods'
 * reports are owned by the Node; a pod that moved to another node is that node's, whatever the
 * first node's agent still sees; node names longer than a label value.
 */
const { socket, image } = LAB;
const { kubeconfig } = CLUSTER;
const RESYNC_MS = 3000;
const SLEEP = ['/bin/sleep', 'infinity'];
const cri = createLabClient(socket, { timeoutMs: 30_000 });
// Two names that share their first 63 characters: neither can be a label value as it is.
const LONG = `nsr-e2e-${'n'.repeat(55)}`;
const NODE_A = `${LONG}-first-of-two-nodes`;
const NODE_B = `${LONG}-other-of-two-nodes`;
const agents: AgentProcess[] = [];
let lab2 = '';
let cri2: LabRuntimeClient | null = null;
const made: { cri: LabRuntimeClient; pod: LabPod }[] = [];

function report(name: string): NamespaceReport | undefined {
  const r = spawnSync(
    'kubectl',
    ['--kubeconfig', kubeconfig, 'get', 'nsr', '-n', LAB_NAMESPACE, name, '-o', 'json'],
    { encoding: 'utf8' },
  );
  return r.status === 0 ? (JSON.parse(r.stdout) as NamespaceReport) : undefined;
}

async function start(node: string, sock: string): Promise<AgentProcess> {
  const port = await freePort();
  const a = startAgent(
    [
      ...labAgentArgs({ kubeconfig, node, socket: sock, resync: `${RESYNC_MS}ms` }),
      '--log-level',
      'debug',
    ],
    port,
  );
  agents.push(a);
  return a;
}

/** The agent's log lines about rc-plain, and its warnings (the lab's other pods' are noise). */
function aboutPlain(a: AgentProcess): string {
  return a
    .logs()
    .split('\n')
    .filter((l) => l.includes('rc-plain') || !l.includes('"level":20'))
    .join('\n')
    .slice(-8000);
}

async function metric(a: AgentProcess, name: string, labels: Record<string, string> = {}) {
  const text = await fetch(`${a.metricsUrl}/metrics`).then((r) => r.text());
  return metricValue(text, name, labels);
}

async function pod(
  runtime: LabRuntimeClient,
  node: string,
  spec: LabPodSpec,
  withObject = true,
): Promise<LabPod> {
  const uid = withObject
    ? createPodObjects(kubeconfig, [spec], node, image).get(spec.name)
    : undefined;
  const p = await runPod(runtime, spec, image, uid);
  made.push({ cri: runtime, pod: p });
  return p;
}

before(() => {
  assert.ok(socket && kubeconfig, 'run through test/e2e/run.sh');
});

after(async () => {
  await Promise.all(agents.map((a) => a.stop()));
  for (const { cri: c, pod: p } of made) await removePod(c, p.sandboxId).catch(() => undefined);
  cri2?.close();
  if (lab2) execFileSync('bash', [join(root, 'test/lab/lab.sh'), 'down', lab2]);
  spawnSync('kubectl', [
    '--kubeconfig',
    kubeconfig,
    'delete',
    'node',
    NODE_A,
    '--ignore-not-found',
  ]);
  for (const kind of ['pod', 'nsr'])
    spawnSync('kubectl', [
      ...['--kubeconfig', kubeconfig, 'delete', kind, '-n', LAB_NAMESPACE, '--ignore-not-found'],
      ...['rc-plain', 'rc-web-0', '--grace-period=0', '--force'],
    ]);
  cri.close();
});

test('a deleted, an edited and a CRD-wiped report come back without restarting the agent', async () => {
  const a = await start(NODE_A, socket);
  await pod(cri, NODE_A, { name: 'rc-plain', containers: [{ name: 'app', command: SLEEP }] });
  const first = await until('the report', () => report('rc-plain'), RESYNC_MS * 3 + 10_000);
  assert.equal(first.metadata.labels['nsreport.dev/node'], labelValue(NODE_A));
  assert.equal(first.report.node, NODE_A, 'the full name stays in the report');

  kubectl(kubeconfig, ['delete', 'nsr', '-n', LAB_NAMESPACE, 'rc-plain']);
  await until(
    'the deleted report back',
    () => report('rc-plain'),
    30_000,
    () => aboutPlain(a),
  );

  const patch = (type: string, body: unknown): string =>
    kubectl(kubeconfig, [
      ...['patch', 'nsr', '-n', LAB_NAMESPACE, 'rc-plain', `--type=${type}`, '-p'],
      JSON.stringify(body),
    ]);
  patch('merge', {
    report: { findings: [], summary: { findings: 0 } },
    // A host label the body does not stand for: server-side apply leaves a label it does not
    // name, so the agent takes it over as "false".
    metadata: {
      labels: { 'nsreport.dev/severity': 'none', 'nsreport.dev/host-pid': 'true', team: 'mine' },
    },
  });
  patch('json', [{ op: 'replace', path: '/report/containers/0/pid', value: 1 }]);
  const reverted = await until(
    'the edited report reverted',
    () => {
      const r = report('rc-plain');
      return r &&
        // Its own pid again, whatever it was at the first write (maybe before a settled scan).
        r.report.containers[0]?.pid !== 1 &&
        // "false" when one apply took over both edits; gone when a second apply followed (it no
        // longer names the label the first wrote "false"): the same to a reader, never "true".
        (r.metadata.labels['nsreport.dev/host-pid'] ?? 'false') === 'false'
        ? r
        : undefined;
    },
    30_000,
    () => `report: ${JSON.stringify(report('rc-plain'))}\nagent log:\n${aboutPlain(a)}`,
  );
  assert.equal(reverted.metadata.labels.team, 'mine', "another's label of its own stays");
  assert.ok((await metric(a, 'nsreport_report_restores_total')) >= 2, aboutPlain(a));

  kubectl(kubeconfig, ['delete', '-f', join(root, 'charts/nsreport/crds/'), '--wait=true']);
  kubectl(kubeconfig, ['apply', '-f', join(root, 'charts/nsreport/crds/')]);
  kubectl(kubeconfig, [
    'wait',
    '--for=condition=Established',
    '--timeout=30s',
    'crd/namespacereports.nsreport.dev',
  ]);
  const back = await until('the reports after the CRD came back', () => report('rc-plain'), 60_000);
  // The same content as just before the wipe (the first write may predate a settled scan).
  assert.equal(
    contentHash(back),
    contentHash(reverted),
    `before: ${JSON.stringify(reverted.report)}\nback: ${JSON.stringify(back.report)}`,
  );
  if (contentHash(first) !== contentHash(reverted))
    console.log(`# first report differs: ${JSON.stringify(first.report)}`);
  // The API server ends the watch with the CRD: closed, or failed when the relist came first.
  assert.ok((await metric(a, 'nsreport_report_watch_restarts_total')) >= 1);
});

test('a static pod: owned by its Node, not collected, deleted by the agent when it goes', async () => {
  kubectl(
    kubeconfig,
    ['create', '-f', '-'],
    JSON.stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name: NODE_A } }),
  );
  const node = JSON.parse(kubectl(kubeconfig, ['get', 'node', NODE_A, '-o', 'json'])) as {
    metadata: { uid: string };
  };
  assert.ok(node);
  // No Pod object with this UID exists: the kubelet's manifest hash is the sandbox's uid.
  const p = await pod(
    cri,
    NODE_A,
    {
      name: `rc-static-${labelValue(NODE_A).slice(0, 20)}`,
      containers: [{ name: 'app', command: SLEEP }],
      annotations: { 'kubernetes.io/config.source': 'file', 'kubernetes.io/config.hash': 'abc' },
    },
    false,
  );
  const r = await until('the static pod report', () => report(p.name), RESYNC_MS * 3 + 10_000);
  assert.deepEqual(
    r.metadata.ownerReferences?.map((o) => [o.kind, o.name, o.uid]),
    [['Node', NODE_A, node.metadata.uid]],
  );
  await new Promise((res) => setTimeout(res, RESYNC_MS * 3 + 2000));
  assert.ok(report(p.name), 'the garbage collector leaves it: its owner is live');
  await removePod(cri, p.sandboxId);
  await until(
    'the agent to delete it',
    () => (report(p.name) ? undefined : true),
    RESYNC_MS * 3 + 10_000,
  );
});

test("a pod moved to another node is that node's report; the first node's agent never deletes it", async () => {
  lab2 = mkdtempSync('/tmp/nsreport-lab3.');
  execFileSync('bash', [join(root, 'test/lab/lab.sh'), 'up', lab2], {
    env: { ...process.env, NSREPORT_LAB_BRIDGE: 'nsrlab2', NSREPORT_LAB_SUBNET: '10.88.79.0/24' },
    stdio: 'ignore',
  });
  const socket2 =
    readFileSync(join(lab2, 'env'), 'utf8').match(/^NSREPORT_LAB_SOCKET=(.*)$/m)?.[1] ?? '';
  cri2 = createLabClient(socket2, { timeoutMs: 30_000 });
  const b = await start(NODE_B, socket2);
  const spec: LabPodSpec = { name: 'rc-web-0', containers: [{ name: 'app', command: SLEEP }] };
  const onA = await pod(cri, NODE_A, spec);
  await until(
    'the report on the first node',
    () => report(spec.name)?.report.node === NODE_A || undefined,
    RESYNC_MS * 3 + 10_000,
  );

  // The StatefulSet controller's way: the Pod is deleted, made again (new UID) on the other node.
  // The first node's sandbox is stopped but not yet removed, as a kubelet leaves it for a while.
  kubectl(kubeconfig, [
    'delete',
    'pod',
    '-n',
    LAB_NAMESPACE,
    spec.name,
    '--grace-period=0',
    '--force',
  ]);
  for (const c of onA.containers) await cri.stopContainer(c.id, 0);
  await cri.stopPodSandbox(onA.sandboxId);
  const onB = await pod(cri2, NODE_B, spec);
  const moved = await until(
    'the report of the pod on the second node',
    () => {
      const r = report(spec.name);
      return r?.report.pod.uid === onB.uid ? r : undefined;
    },
    60_000,
  );
  assert.equal(moved.metadata.labels['nsreport.dev/node'], labelValue(NODE_B));
  assert.notEqual(labelValue(NODE_A), labelValue(NODE_B));
  assert.equal(moved.metadata.ownerReferences?.[0]?.uid, onB.uid);

  // The first node collects its old sandbox: its agent must not delete the second node's report.
  await removePod(cri, onA.sandboxId);
  await new Promise((res) => setTimeout(res, RESYNC_MS * 3));
  assert.equal(report(spec.name)?.report.pod.uid, onB.uid);
  // The audit finds the long-named node's reports by the same label function.
  const audit = nsreport(['audit', '--kubeconfig', kubeconfig, '--node', NODE_B, '-o', 'json']);
  assert.equal(audit.code, 0, audit.stderr);
  assert.match(audit.stdout, /rc-web-0/);
  assert.ok(
    (await metric(b, 'nsreport_report_writes_total', { operation: 'apply', result: 'ok' })) >= 1,
  );
});
