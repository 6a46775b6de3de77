import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CLUSTER, LAB2, ROOT as root } from '../env.js';
import { createLabClient, type LabRuntimeClient } from '../lab/cri.js';
import { applyObjects, kubectl } from '../lab/kube.js';
import { runPod, type LabPodSpec } from '../lab/pods.js';
import {
  freePort,
  httpGet,
  labAgentArgs,
  metricValue,
  startAgent,
  until,
  type AgentProcess,
} from './agent-process.js';

/**
 * CRI events, the way each runtime gives them, on a second lab: containerd 2.x (built from the
 * Go module proxy by scripts/build-containerd.sh) and CRI-O 1.34 with pod events on implement
 * GetContainerEvents — with a resync far longer than the deadline, only the event stream can
 * explain a report that shows up within 2 s; CRI-O with its default (pod events off) ends the
 * stream at once with no event, which must neither spin nor stop the reports.
 */
const { dir: labDir, containerdBin } = LAB2;
const { kubeconfig } = CLUSTER;
const NODE = 'nsr-e2e-node2';
const NAMESPACE = 'nsr-events';

interface EventLab {
  readonly agent: AgentProcess;
  readonly cri: LabRuntimeClient;
  readonly image: string;
}

function lab(cmd: string, env: Record<string, string>): void {
  execFileSync('bash', [join(root, 'test/lab/lab.sh'), cmd, labDir], {
    env: {
      ...process.env,
      NSREPORT_CONTAINERD_BIN: containerdBin,
      NSREPORT_LAB_BRIDGE: 'nsrlab1',
      NSREPORT_LAB_SUBNET: '10.88.78.0/24',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

/** A lab of that runtime and an agent on it (a 10 min resync by default); removed by `down`. */
async function up(env: Record<string, string>, resync = '10m'): Promise<EventLab> {
  lab('up', env);
  const vars = Object.fromEntries(
    readFileSync(join(labDir, 'env'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.split('=', 2) as [string, string]),
  );
  const socket = vars.NSREPORT_LAB_SOCKET ?? '';
  const cri = createLabClient(socket, { timeoutMs: 30_000 });
  const agent = startAgent(
    labAgentArgs({ kubeconfig, node: NODE, socket, resync }),
    await freePort(),
  );
  await until(
    'agent /readyz',
    async () => ((await httpGet(`${agent.metricsUrl}/readyz`)).status === 200 ? true : undefined),
    30_000,
  );
  return { agent, cri, image: vars.NSREPORT_LAB_IMAGE ?? '' };
}

async function down(l: EventLab, env: Record<string, string>): Promise<void> {
  await l.agent.stop();
  for (const s of await l.cri.listSandboxes()) {
    for (const c of (await l.cri.listContainers()).filter((x) => x.sandboxId === s.id)) {
      await l.cri.stopContainer(c.id, 0);
      await l.cri.removeContainer(c.id);
    }
    await l.cri.stopPodSandbox(s.id);
    await l.cri.removePodSandbox(s.id);
  }
  l.cri.close();
  lab('down', env);
}

function hasReport(name: string): boolean {
  return kubectl(kubeconfig, ['get', 'nsr', '-n', NAMESPACE, '-o', 'name']).includes(`/${name}`);
}

/** A new pod with its Pod object; resolves when its sandbox and container run, with that time. */
async function newPod(l: EventLab, name: string): Promise<number> {
  const spec: LabPodSpec = {
    name,
    namespace: NAMESPACE,
    containers: [{ name: 'app', command: ['/bin/sleep', 'infinity'] }],
  };
  const [pod] = applyObjects(kubeconfig, [
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: NAMESPACE },
      spec: { nodeName: NODE, containers: [{ name: 'app', image: l.image }] },
    },
  ]);
  assert.ok(pod);
  await runPod(l.cri, spec, l.image, pod.metadata.uid);
  // The change is the running pod (CRI-O on vfs takes seconds to copy a rootfs before that).
  return Date.now();
}

const metric = async (l: EventLab, name: string, labels: Record<string, string> = {}) =>
  metricValue((await httpGet(`${l.agent.metricsUrl}/metrics`)).body, name, labels);

before(() => {
  assert.ok(labDir && containerdBin && kubeconfig, 'run through test/e2e/run.sh');
  kubectl(kubeconfig, ['create', 'namespace', NAMESPACE]);
});

after(() => {
  kubectl(kubeconfig, ['delete', 'namespace', NAMESPACE, '--wait=false']);
});

for (const [what, env, version] of [
  ['containerd 2.x', {}, /^v?2\./],
  [
    'CRI-O with pod events on',
    { NSREPORT_LAB_RUNTIME: 'crio', NSREPORT_LAB_CRIO_POD_EVENTS: '1' },
    /^1\.34\./,
  ],
] as const) {
  test(`${what}: a new pod gets its report within 2 s through GetContainerEvents`, async () => {
    const l = await up(env);
    try {
      assert.match((await l.cri.version()).version, version);
      const t0 = await newPod(l, 'evented');
      await until('the report', () => (hasReport('evented') ? true : undefined), 2000);
      const ms = Date.now() - t0;
      assert.ok(ms <= 2000, `${ms} ms`);
      process.stdout.write(`# ${what}: change to report in ${ms} ms\n`);
      assert.doesNotMatch(l.agent.logs(), /polling every resync/);
      assert.equal(await metric(l, 'nsreport_cri_events_available'), 1);
    } finally {
      await down(l, env);
      kubectl(kubeconfig, ['delete', 'nsr,pod', '-n', NAMESPACE, '--all', '--wait=false']);
    }
  });
}

test('CRI-O by default (pod events off): the empty event stream is asked for again only every resync, said once; a new pod is reported at the next resync', async () => {
  const env = { NSREPORT_LAB_RUNTIME: 'crio' };
  const l = await up(env, '3s');
  try {
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, 8000));
    const opened = await metric(l, 'nsreport_cri_requests_total', {
      method: 'GetContainerEvents',
      code: 'ok',
    });
    // Once at start, then once a resync: not thousands of times a second.
    const resyncs = (Date.now() - t0) / 3000;
    assert.ok(
      opened >= 1 && opened <= resyncs + 2,
      `${opened} streams in ${resyncs.toFixed(1)} resyncs`,
    );
    assert.equal(await metric(l, 'nsreport_cri_events_available'), 0);
    const said = l.agent.logs().match(/runtime event stream ended with no event/g) ?? [];
    assert.equal(said.length, 1, l.agent.logs().slice(-2000));
    const cpu0 = await metric(l, 'process_cpu_seconds_total');
    await new Promise((r) => setTimeout(r, 5000));
    const cpu = (await metric(l, 'process_cpu_seconds_total')) - cpu0;
    process.stdout.write(
      `# CRI-O without pod events: ${(cpu * 1000).toFixed(0)} ms CPU in 5 s at rest (resync 3 s)\n`,
    );
    assert.ok(cpu < 1, `${cpu} s CPU in 5 s: no spin`);
    const made = await newPod(l, 'polled');
    await until(
      'the report at the next resync',
      () => (hasReport('polled') ? true : undefined),
      8000,
    );
    process.stdout.write(
      `# CRI-O without pod events: change to report in ${Date.now() - made} ms\n`,
    );
  } finally {
    await down(l, env);
    kubectl(kubeconfig, ['delete', 'nsr,pod', '-n', NAMESPACE, '--all', '--wait=false']);
  }
});
