/**
 * Forged reports: how long a report forged by a cluster-admin stays forged with the agent
 * running against the lab. Two forgeries, BENCH_FORGERIES tries each (default 20): the body
 * edited on the report's own node (findings emptied, the severity and host-network labels
 * lowered), and the report moved to another node's label and body with its findings emptied. The
 * agent decides the second from the Pod (bound here, same UID) and writes it back; with the
 * chart's admission policy on, the API server refuses that move in the first place. The agent
 * runs with the admin's kubeconfig here, so the policy (which binds the agent's ServiceAccount)
 * is not what is measured: the agent's reaction is. Median and max time to correction.
 *
 *   node dist/bench/forgery.js   (run by bench/run.sh, BENCH_PARTS=forgery; in the default set)
 */
import { spawnSync } from 'node:child_process';
import { CLUSTER, LAB } from '../test/env.js';
import { createLabClient } from '../test/lab/cri.js';
import { kubectl } from '../test/lab/kube.js';
import { LAB_NAMESPACE } from '../test/lab/pods.js';
import { freePort, labAgentArgs, startAgent, until } from '../test/e2e/agent-process.js';
import { median, record } from './proc.js';
import type { NamespaceReport } from '../src/report/types.js';

const { socket } = LAB;
const { kubeconfig } = CLUSTER;
const NODE = 'nsr-bench-node';
const TRIES = Number(process.env.BENCH_FORGERIES ?? '20');

function get(name: string): NamespaceReport | null {
  const r = spawnSync(
    'kubectl',
    ['--kubeconfig', kubeconfig, 'get', 'nsr', '-n', LAB_NAMESPACE, name, '-o', 'json'],
    { encoding: 'utf8' },
  );
  return r.status === 0 ? (JSON.parse(r.stdout) as NamespaceReport) : null;
}

const cri = createLabClient(socket, { timeoutMs: 60_000 });
const agent = startAgent(
  [...labAgentArgs({ kubeconfig, node: NODE, socket, resync: '30s' }), '--log-level', 'warn'],
  await freePort(),
  { options: '--max-semi-space-size=1' },
);

try {
  // The hostNetwork pod: its report has findings and a host-network label to forge away.
  const victim =
    (await cri.listSandboxes()).find((s) => s.pod.name === 'hostnet')?.pod.name ?? 'hostnet';
  const honest = await until('the victim reported', () => get(victim) ?? undefined, 120_000);
  const wanted = JSON.stringify({ labels: honest.metadata.labels, report: honest.report });
  const held = (): boolean => {
    const r = get(victim);
    return r !== null && JSON.stringify({ labels: r.metadata.labels, report: r.report }) === wanted;
  };
  const lowered = {
    'nsreport.dev/host-network': 'false',
    'nsreport.dev/severity': 'none',
  };
  const emptied = {
    findings: [],
    summary: { ...honest.report.summary, findings: 0, highestSeverity: 'none' },
  };
  const forgeries: [string, () => void][] = [
    [
      "body edited on the report's node (findings emptied, labels lowered)",
      () =>
        kubectl(kubeconfig, [
          ...['patch', 'nsr', '-n', LAB_NAMESPACE, victim, '--type=merge', '-p'],
          JSON.stringify({ metadata: { labels: lowered }, report: emptied }),
        ]),
    ],
    [
      "another node's label and body, findings emptied",
      () =>
        kubectl(kubeconfig, [
          ...['patch', 'nsr', '-n', LAB_NAMESPACE, victim, '--type=merge', '-p'],
          JSON.stringify({
            metadata: { labels: { ...lowered, 'nsreport.dev/node': 'nsr-elsewhere' } },
            report: { ...emptied, node: 'nsr-elsewhere' },
          }),
        ]),
    ],
  ];
  process.stdout.write(
    '| forged report | tries | corrected, median | max |\n|---|---:|---:|---:|\n',
  );
  for (const [what, forge] of forgeries) {
    const took: number[] = [];
    for (let i = 0; i < TRIES; i++) {
      forge();
      const t = performance.now();
      await until('the forged report corrected', () => (held() ? true : undefined), 60_000);
      took.push((performance.now() - t) / 1000);
    }
    process.stdout.write(
      `| ${what} | ${TRIES} | ${median(took).toFixed(2)} s | ${Math.max(...took).toFixed(2)} s |\n`,
    );
    if (what.startsWith('another')) record('forgery.otherNode.median', median(took));
  }
} finally {
  const stopped = await agent.stop();
  if (stopped.code !== 0) process.stderr.write(agent.logs());
  cri.close();
}
