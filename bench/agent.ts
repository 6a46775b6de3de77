/**
 * The agent at rest and under change, on the lab as bench/scan.ts left it (100 pods with Pod
 * objects): API writes per minute with 100 unchanged pods, time from a pod change to its written
 * report, and the agent's memory. The agent runs as a separate process, as in production.
 *
 *   node dist/bench/agent.js LABEL   (run by bench/run.sh)
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CLUSTER, LAB } from '../test/env.js';
import { createLabClient } from '../test/lab/cri.js';
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
import { median, memory, record, wakeups } from './proc.js';

const { socket, image } = LAB;
const { kubeconfig } = CLUSTER;
const label = process.argv[2] ?? 'containerd';
const NODE = 'nsr-bench-node';
const QUIET_SECONDS = Number(process.env.BENCH_QUIET_SECONDS ?? '60');
const CHANGES = 3;
/** V8 flags for the agent process (e.g. --max-semi-space-size=1), as the image sets them. */
const NODE_OPTIONS = process.env.BENCH_AGENT_NODE_OPTIONS ?? '';
/** Node command-line flags of the agent (e.g. --lite-mode), as the image's entrypoint has them. */
const NODE_FLAGS = (process.env.BENCH_AGENT_NODE_FLAGS ?? '').split(' ').filter((f) => f !== '');

async function writes(url: string): Promise<number> {
  return metricValue((await httpGet(`${url}/metrics`)).body, 'nsreport_report_writes_total', {
    result: 'ok',
  });
}

/** The agent's CPU seconds so far and its completed scans (its own metrics). */
async function cpuAndScans(url: string): Promise<{ cpu: number; scans: number }> {
  const body = (await httpGet(`${url}/metrics`)).body;
  return {
    cpu: metricValue(body, 'process_cpu_seconds_total', {}),
    scans: metricValue(body, 'nsreport_scans_total', { result: 'ok' }),
  };
}

function reportCount(): number {
  return (
    JSON.parse(kubectl(kubeconfig, ['get', 'nsr', '-A', '-o', 'json'])) as { items: unknown[] }
  ).items.length;
}

/**
 * The least any agent built on the fixed packages can be: the same Node, flags and NODE_OPTIONS
 * loading them, serving default metrics over HTTP and otherwise idle (bench/floor-process.ts).
 */
async function floor(): Promise<{ rss: number; anon: number; wakes: number }> {
  const script = fileURLToPath(new URL('./floor-process.js', import.meta.url));
  const child = spawn(process.execPath, [...NODE_FLAGS, script], {
    env: { ...process.env, NODE_OPTIONS },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    await new Promise((r) => child.stdout.once('data', r));
    const samples: { rss: number; anon: number }[] = [];
    const pid = child.pid ?? 0;
    const wake0 = { n: wakeups(pid), t: performance.now() };
    for (let t = 0; t < 20; t += 2) {
      await new Promise((r) => setTimeout(r, 2000));
      samples.push(memory(pid));
    }
    return {
      wakes: ((wakeups(pid) - wake0.n) * 1000) / (performance.now() - wake0.t),
      rss: median(samples.map((s) => s.rss)),
      anon: median(samples.map((s) => s.anon)),
    };
  } finally {
    child.kill();
  }
}

async function run(resyncMs: number): Promise<void> {
  const cri = createLabClient(socket);
  const pods = (await cri.listSandboxes()).length;
  const port = await freePort();
  const agent = startAgent(
    [
      ...labAgentArgs({ kubeconfig, node: NODE, socket, resync: `${resyncMs}ms` }),
      '--log-level',
      'warn',
    ],
    port,
    { options: NODE_OPTIONS, flags: NODE_FLAGS },
  );
  try {
    await until('all reports', () => (reportCount() >= pods ? true : undefined), 120_000);
    // At rest means after the agent's own start: its cold scan done (the reports may be an
    // earlier agent's), then a few seconds.
    await until(
      'the first scan',
      async () => ((await cpuAndScans(agent.metricsUrl)).scans >= 1 ? true : undefined),
      120_000,
    );
    await new Promise((r) => setTimeout(r, 3000));
    const pid = agent.child.pid ?? 0;
    const w0 = await writes(agent.metricsUrl);
    const c0 = await cpuAndScans(agent.metricsUrl);
    const wake0 = { n: wakeups(pid), t: performance.now() };
    // RSS sampled every 2 s while nothing changes: its median is the agent's steady footprint.
    const rssSamples: number[] = [];
    const anonSamples: number[] = [];
    for (let t = 0; t < QUIET_SECONDS; t += 2) {
      await new Promise((r) => setTimeout(r, 2000));
      const m = memory(pid);
      rssSamples.push(m.rss);
      anonSamples.push(m.anon);
    }
    const perMinute = ((await writes(agent.metricsUrl)) - w0) * (60 / QUIET_SECONDS);
    const c1 = await cpuAndScans(agent.metricsUrl);
    const wakesPerSecond = ((wakeups(pid) - wake0.n) * 1000) / (performance.now() - wake0.t);
    const cpuPerScan = c1.scans > c0.scans ? ((c1.cpu - c0.cpu) * 1000) / (c1.scans - c0.scans) : 0;
    const steadyRss = median(rssSamples);
    const steadyAnon = median(anonSamples);
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
      `| ${label} Node ${process.versions.node}${NODE_FLAGS.length > 0 ? ` ${NODE_FLAGS.join(' ')}` : ''}${NODE_OPTIONS ? ` NODE_OPTIONS=${NODE_OPTIONS}` : ''} | ${pods} | ${resyncMs / 1000} s | ${perMinute.toFixed(1)} | ${(mean / 1000).toFixed(2)} s (max ${(Math.max(...latencies) / 1000).toFixed(2)} s) | ${cpuPerScan.toFixed(1)} ms | ${wakesPerSecond.toFixed(1)} | ${steadyRss.toFixed(1)} MiB (peak ${mem.hwm.toFixed(1)} MiB; ${steadyAnon.toFixed(1)} MiB anonymous) |\n`,
    );
    if (process.env.BENCH_RECORD === '1') {
      record('agent.rss.median', steadyRss);
      record('agent.rss.peak', mem.hwm);
      record('agent.writes.perMinute', perMinute);
      record('agent.anon.median', steadyAnon);
      record('agent.wakeups.perSecond', wakesPerSecond);
      const f = await floor();
      record('agent.rss.floor', f.rss);
      process.stdout.write(
        `| floor: the same Node and flags loading only @grpc/grpc-js, pino and prom-client, serving /metrics | - | - | - | - | - | ${f.wakes.toFixed(1)} | ${f.rss.toFixed(1)} MiB (${f.anon.toFixed(1)} MiB anonymous) |\n`,
      );
    }
  } finally {
    const stopped = await agent.stop();
    if (stopped.code !== 0) process.stderr.write(agent.logs());
    cri.close();
  }
}

await run(Number(process.env.BENCH_RESYNC_MS ?? '30000'));
