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
  startAgent,
  until,
  type AgentProcess,
} from './agent-process.js';

/**
 * CRI events: a second lab on containerd 2.x (built from the Go module proxy by
 * scripts/build-containerd.sh), which implements GetContainerEvents. With a resync far longer
 * than the deadline, only the event stream can explain a report that shows up within 2 s.
 */
const { dir: labDir, containerdBin } = LAB2;
const { kubeconfig } = CLUSTER;
const NODE = 'nsr-e2e-node2';
const NAMESPACE = 'nsr-events';
let agent: AgentProcess;
let cri: LabRuntimeClient;
let socket: string;
let image: string;

function lab(cmd: string): void {
  execFileSync('bash', [join(root, 'test/lab/lab.sh'), cmd, labDir], {
    env: {
      ...process.env,
      NSREPORT_CONTAINERD_BIN: containerdBin,
      NSREPORT_LAB_BRIDGE: 'nsrlab1',
      NSREPORT_LAB_SUBNET: '10.88.78.0/24',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

function hasReport(name: string): boolean {
  return kubectl(kubeconfig, ['get', 'nsr', '-n', NAMESPACE, '-o', 'name']).includes(`/${name}`);
}

before(async () => {
  assert.ok(labDir && containerdBin && kubeconfig, 'run through test/e2e/run.sh');
  lab('up');
  const env = Object.fromEntries(
    readFileSync(join(labDir, 'env'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.split('=', 2) as [string, string]),
  );
  socket = env.NSREPORT_LAB_SOCKET ?? '';
  image = env.NSREPORT_LAB_IMAGE ?? '';
  cri = createLabClient(socket, { timeoutMs: 30_000 });
  kubectl(kubeconfig, ['create', 'namespace', NAMESPACE]);
  const port = await freePort();
  agent = startAgent(labAgentArgs({ kubeconfig, node: NODE, socket, resync: '10m' }), port);
  await until(
    'agent /readyz',
    async () => ((await httpGet(`${agent.metricsUrl}/readyz`)).status === 200 ? true : undefined),
    30_000,
  );
});

after(async () => {
  await agent.stop();
  for (const s of await cri.listSandboxes()) {
    for (const c of (await cri.listContainers()).filter((x) => x.sandboxId === s.id)) {
      await cri.stopContainer(c.id, 0);
      await cri.removeContainer(c.id);
    }
    await cri.stopPodSandbox(s.id);
    await cri.removePodSandbox(s.id);
  }
  cri.close();
  lab('down');
  kubectl(kubeconfig, ['delete', 'namespace', NAMESPACE, '--wait=false']);
});

test('containerd 2.x: a new pod gets its report within 2 s through GetContainerEvents', async () => {
  assert.match((await cri.version()).version, /^v?2\./);
  const spec: LabPodSpec = {
    name: 'evented',
    namespace: NAMESPACE,
    containers: [{ name: 'app', command: ['/bin/sleep', 'infinity'] }],
  };
  const [pod] = applyObjects(kubeconfig, [
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: spec.name, namespace: NAMESPACE },
      spec: { nodeName: NODE, containers: [{ name: 'app', image }] },
    },
  ]);
  assert.ok(pod);
  const t0 = Date.now();
  await runPod(cri, spec, image, pod.metadata.uid);
  await until('the report', () => (hasReport('evented') ? true : undefined), 2000);
  const ms = Date.now() - t0;
  assert.ok(ms <= 2000, `${ms} ms`);
  assert.doesNotMatch(agent.logs(), /polling every resync/);
});
