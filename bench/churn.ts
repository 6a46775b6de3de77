/**
 * Churn: pods come and go all day. With the agent running against the
 * lab, BENCH_CHURN_CYCLES pod lifecycles (Pod object, sandbox, removal, Pod deleted), in batches
 * of BENCH_CHURN_BATCH pods alive at once. Then: no report for a pod that is gone, none missing
 * for a pod that runs, API writes per pod lifecycle, and the agent's RSS per hundred cycles.
 * Also the restore latency: a report deleted by a user, and one whose body is edited, back as
 * the agent wants it (median and max of BENCH_RESTORES tries each).
 *
 *   node dist/bench/churn.js   (run by bench/run.sh, BENCH_PARTS=churn)
 */
import { spawnSync } from 'node:child_process';
import { CLUSTER, LAB } from '../test/env.js';
import { createLabClient } from '../test/lab/cri.js';
import { createPodObjects, kubectl } from '../test/lab/kube.js';
import { LAB_NAMESPACE, removePod, runPod, type LabPodSpec } from '../test/lab/pods.js';
import {
  freePort,
  httpGet,
  labAgentArgs,
  metricValue,
  startAgent,
  until,
} from '../test/e2e/agent-process.js';
import { memory } from './proc.js';

const { socket, image } = LAB;
const { kubeconfig } = CLUSTER;
const NODE = 'nsr-bench-node';
const CYCLES = Number(process.env.BENCH_CHURN_CYCLES ?? '1000');
const BATCH = Number(process.env.BENCH_CHURN_BATCH ?? '10');
const RESTORES = Number(process.env.BENCH_RESTORES ?? '5');
const RESYNC_MS = Number(process.env.BENCH_CHURN_RESYNC_MS ?? '2000');

function reportNames(): Set<string> {
  const out = kubectl(kubeconfig, ['get', 'nsr', '-n', LAB_NAMESPACE, '-o', 'name']);
  return new Set(
    out
      .split('\n')
      .filter(Boolean)
      .map((l) => l.replace(/^.*\//, '')),
  );
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}

const cri = createLabClient(socket, { timeoutMs: 60_000 });
const port = await freePort();
const agent = startAgent(
  [
    ...labAgentArgs({ kubeconfig, node: NODE, socket, resync: `${RESYNC_MS}ms` }),
    '--log-level',
    'warn',
  ],
  port,
  { options: '--max-semi-space-size=1' },
);
const metric = async (name: string, labels: Record<string, string> = {}): Promise<number> =>
  metricValue((await httpGet(`${agent.metricsUrl}/metrics`)).body, name, labels);

try {
  const standing = (await cri.listSandboxes()).map((s) => s.pod.name);
  await until(
    'the standing pods reported',
    () => (standing.every((n) => reportNames().has(n)) ? true : undefined),
    120_000,
  );
  const pid = agent.child.pid ?? 0;
  const writes0 = await metric('nsreport_report_writes_total', { result: 'ok' });
  const rss: number[] = [];
  const t0 = performance.now();
  for (let done = 0; done < CYCLES; done += BATCH) {
    const specs: LabPodSpec[] = Array.from({ length: BATCH }, (_, i) => ({
      name: `churn-${String(done + i).padStart(5, '0')}`,
      containers: [{ name: 'app', command: ['/bin/sleep', 'infinity'] }],
    }));
    const uids = createPodObjects(kubeconfig, specs, NODE, image);
    const pods = await Promise.all(specs.map((s) => runPod(cri, s, image, uids.get(s.name))));
    // Long enough to be seen by a scan now and then, as real pods are.
    await new Promise((r) => setTimeout(r, RESYNC_MS / 2));
    for (const p of pods) await removePod(cri, p.sandboxId);
    kubectl(kubeconfig, [
      ...['delete', 'pod', '-n', LAB_NAMESPACE, '--grace-period=0', '--force', '--wait=false'],
      ...specs.map((s) => s.name),
    ]);
    if ((done + BATCH) % 100 === 0) rss.push(memory(pid).rss);
  }
  const seconds = (performance.now() - t0) / 1000;
  await until(
    'no report left for a pod that is gone, none missing for one that runs',
    () => {
      const names = reportNames();
      const gone = [...names].filter((n) => n.startsWith('churn-'));
      return gone.length === 0 && standing.every((n) => names.has(n)) ? true : undefined;
    },
    RESYNC_MS * 5 + 60_000,
  );
  const writes = (await metric('nsreport_report_writes_total', { result: 'ok' })) - writes0;
  const errors = await metric('nsreport_report_writes_total', { result: 'error' });
  const conflicts = await metric('nsreport_report_conflicts_total');
  const first = rss.slice(0, 1)[0] ?? 0;
  const last = rss.at(-1) ?? 0;
  process.stdout.write(
    `| ${CYCLES} | ${BATCH} | ${seconds.toFixed(0)} s | ${writes} (${(writes / CYCLES).toFixed(2)}/lifecycle) | ${errors} / ${conflicts} | ${first.toFixed(1)} → ${last.toFixed(1)} MiB (max ${Math.max(...rss).toFixed(1)}) | 0 left, 0 missing |\n`,
  );

  // Restore latency.
  const victim = standing[0] ?? '';
  const wanted = JSON.stringify(
    (
      JSON.parse(
        kubectl(kubeconfig, ['get', 'nsr', '-n', LAB_NAMESPACE, victim, '-o', 'json']),
      ) as {
        report: unknown;
      }
    ).report,
  );
  const bodyOf = (): string | null => {
    const r = spawnSync(
      'kubectl',
      ['--kubeconfig', kubeconfig, 'get', 'nsr', '-n', LAB_NAMESPACE, victim, '-o', 'json'],
      { encoding: 'utf8' },
    );
    return r.status === 0
      ? JSON.stringify((JSON.parse(r.stdout) as { report: unknown }).report)
      : null;
  };
  const latency = async (act: () => void): Promise<number> => {
    act();
    const t = performance.now();
    await until('the report restored', () => (bodyOf() === wanted ? true : undefined), 60_000);
    return (performance.now() - t) / 1000;
  };
  const deleted: number[] = [];
  const edited: number[] = [];
  for (let i = 0; i < RESTORES; i++) {
    deleted.push(
      await latency(() => kubectl(kubeconfig, ['delete', 'nsr', '-n', LAB_NAMESPACE, victim])),
    );
    edited.push(
      await latency(() =>
        kubectl(kubeconfig, [
          ...['patch', 'nsr', '-n', LAB_NAMESPACE, victim, '--type=merge', '-p'],
          JSON.stringify({ report: { findings: [], truncated: true } }),
        ]),
      ),
    );
  }
  process.stdout.write(
    `\n| restore after | tries | median | max |\n|---|---:|---:|---:|\n` +
      `| kubectl delete nsr | ${RESTORES} | ${median(deleted).toFixed(2)} s | ${Math.max(...deleted).toFixed(2)} s |\n` +
      `| kubectl patch (body edited) | ${RESTORES} | ${median(edited).toFixed(2)} s | ${Math.max(...edited).toFixed(2)} s |\n`,
  );
} finally {
  const stopped = await agent.stop();
  if (stopped.code !== 0) process.stderr.write(agent.logs());
  cri.close();
}
