/**
 * Benchmark of issue 3, on the lab as bench/scan.ts left it (100 pods with Pod objects):
 * API writes per minute with 100 unchanged pods, time from a pod change to its written report,
 * and the agent's memory. The agent runs as a separate process, as in production.
 *
 *   node dist/bench/agent.js LABEL   (run by bench/run.sh)
 */
import { createCriClient } from '../src/cri/client.js';
import { createPodObjects, kubectl } from '../test/lab/kube.js';
import { removePod, runPod, type LabPodSpec } from '../test/lab/pods.js';
import {
  freePort,
  httpGet,
  labAgentArgs,
  metricValue,
  startAgent,
  until,
} from '../test/e2e/agent-process.js';
import { memory } from './proc.js';

const socket = process.env.NSREPORT_LAB_SOCKET ?? '';
const image = process.env.NSREPORT_LAB_IMAGE ?? '';
const kubeconfig = process.env.NSREPORT_CLUSTER_KUBECONFIG ?? '';
const label = process.argv[2] ?? 'containerd';
const NODE = 'nsr-bench-node';
const QUIET_SECONDS = Number(process.env.BENCH_QUIET_SECONDS ?? '60');
const CHANGES = 3;
/** V8 flags for the agent process (e.g. --max-semi-space-size=1), as the image sets them. */
const NODE_OPTIONS = process.env.BENCH_AGENT_NODE_OPTIONS ?? '';

async function writes(url: string): Promise<number> {
  return metricValue((await httpGet(`${url}/metrics`)).body, 'nsreport_report_writes_total', {
    result: 'ok',
  });
}

function reportCount(): number {
  return (
    JSON.parse(kubectl(kubeconfig, ['get', 'nsr', '-A', '-o', 'json'])) as { items: unknown[] }
  ).items.length;
}

async function run(resyncMs: number): Promise<void> {
  const cri = createCriClient(socket);
  const pods = (await cri.listSandboxes()).length;
  const port = await freePort();
  const agent = startAgent(
    [
      ...labAgentArgs({ kubeconfig, node: NODE, socket, resync: `${resyncMs}ms` }),
      '--log-level',
      'warn',
    ],
    port,
    NODE_OPTIONS,
  );
  try {
    await until('all reports', () => (reportCount() >= pods ? true : undefined), 120_000);
    const w0 = await writes(agent.metricsUrl);
    await new Promise((r) => setTimeout(r, QUIET_SECONDS * 1000));
    const perMinute = ((await writes(agent.metricsUrl)) - w0) * (60 / QUIET_SECONDS);
    const pid = agent.child.pid ?? 0;
    const steadyMem = memory(pid);
    const latencies: number[] = [];
    for (let i = 0; i < CHANGES; i++) {
      const spec: LabPodSpec = {
        name: `change-${i}`,
        containers: [{ name: 'app', command: ['/bin/sleep', 'infinity'] }],
      };
      const uid = createPodObjects(kubeconfig, [spec], NODE, image).get(spec.name);
      const before = await writes(agent.metricsUrl);
      const t0 = performance.now();
      const pod = await runPod(cri, spec, image, uid);
      await until(
        'the new report',
        async () => ((await writes(agent.metricsUrl)) > before ? true : undefined),
        resyncMs * 3 + 10_000,
      );
      latencies.push(performance.now() - t0);
      await removePod(cri, pod.sandboxId);
      kubectl(kubeconfig, [
        'delete',
        'pod',
        '-n',
        'nsr-lab',
        spec.name,
        '--grace-period=0',
        '--force',
      ]);
      await new Promise((r) => setTimeout(r, (resyncMs * (i + 1)) / (CHANGES + 1)));
    }
    const mem = memory(pid);
    const mean = latencies.reduce((a, b) => a + b, 0) / latencies.length;
    process.stdout.write(
      `| ${label}${NODE_OPTIONS ? ` NODE_OPTIONS=${NODE_OPTIONS}` : ''} | ${pods} | ${resyncMs / 1000} s | ${perMinute.toFixed(1)} | ${(mean / 1000).toFixed(2)} s (max ${(Math.max(...latencies) / 1000).toFixed(2)} s) | ${steadyMem.rss.toFixed(1)} MiB (peak ${mem.hwm.toFixed(1)} MiB) |\n`,
    );
  } finally {
    const stopped = await agent.stop();
    if (stopped.code !== 0) process.stderr.write(agent.logs());
    cri.close();
  }
}

await run(Number(process.env.BENCH_RESYNC_MS ?? '30000'));
