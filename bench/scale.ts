/**
 * What N agents cost one API server, measured on a real kube-apiserver + etcd (the test control
 * plane, nothing else on it): N = 0, 500, 2,000, 5,000 simulated agents (bench/scale-worker.ts:
 * the agent's own request code, one connection and one pod-bound ServiceAccount token each, the
 * chart's RBAC and admission policy enforced), in a few processes. For each N:
 *   - the rollout: all N start at once (list + watch of their node's reports): time until every
 *     watch is open, the API server's CPU and peak memory meanwhile;
 *   - at rest: the API server's CPU per second and memory with N watches and the agents' pings;
 *   - churn: pod changes (a report applied or deleted) at a fixed rate on random nodes: the API
 *     server's CPU per write over its rest, and the latency from a write to the event at the
 *     watch of that node;
 *   - what one request costs the API server with that many reports: a node's list (an agent's
 *     start, and every relist), the agent's ping, and a list of limit=1 (the ping before it).
 * Each node has BENCH_SCALE_PODS reports (30: 150,000 at 5,000 nodes) before its agent starts, as
 * on a cluster where the agents restart: a list of a custom resource by label walks all of them.
 *
 *   node dist/bench/scale.js TEMPLATE.json   (bench/run.sh: a control plane of its own)
 *   BENCH_SCALE_NODES=0,500,2000,5000  BENCH_SCALE_WORKERS=4  BENCH_SCALE_CHURN=20 (writes/s)
 *   BENCH_SCALE_SECONDS=30 (rest and churn, each)  BENCH_SCALE_PODS=30 (reports per node)
 *   BENCH_SCALE_ROLLOUT_SECONDS=900 (a rollout not done by then ends the step)
 */
import { fork, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLUSTER, HELM } from '../test/env.js';
import { kubectl } from '../test/lab/kube.js';
import { groupVersionPath, resourcePath, type RestClient } from '../src/k8s/rest.js';
import { NODES, PODS, REPORTS } from '../src/k8s/resources.js';
import { labelValue } from '../src/report/report.js';
import { LABEL_NODE } from '../src/report/types.js';
import type { NamespaceReport } from '../src/report/types.js';
import { createMany, restClient, simReport } from './objects.js';
import { median } from './proc.js';
import type { ScaleAnswer, ScaleCommand, SimAgent } from './scale-worker.js';

const { kubeconfig, dir } = CLUSTER;
const STEPS = (process.env.BENCH_SCALE_NODES ?? '0,500,2000,5000').split(',').map(Number);
const WORKERS = Number(process.env.BENCH_SCALE_WORKERS ?? '4');
const CHURN = Number(process.env.BENCH_SCALE_CHURN ?? '20');
const SECONDS = Number(process.env.BENCH_SCALE_SECONDS ?? '30');
const PODS_PER_NODE = Number(process.env.BENCH_SCALE_PODS ?? '30');
/** How long the rollout may take before the step is given up (its row says so). */
const ROLLOUT_SECONDS = Number(process.env.BENCH_SCALE_ROLLOUT_SECONDS ?? '900');
/** The agent's defaults (src/config/agent.ts): --resync 30s, --qps 5, --burst 10. */
const AGENT = { resyncMs: 30_000, qps: 5, burst: 10 };
const AGENT_NS = 'nsreport';
/** The reports' namespace: their owner's, the agent Pod (an owner elsewhere is no owner to GC). */
const NAMESPACES = [AGENT_NS];
const TICK = 100; // /proc/<pid>/stat counts CPU in 1/100 s on Linux

/** The API server's and etcd's CPU seconds so far and memory now (MiB). */
function sample(): { cpu: number; rss: number; etcdCpu: number; etcdRss: number } {
  const of = (name: string): { cpu: number; rss: number } => {
    const pid = readFileSync(join(dir, `${name}.pid`), 'utf8').trim();
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0);
    return { cpu: (Number(f[11]) + Number(f[12])) / TICK, rss: kib / 1024 };
  };
  const a = of('apiserver');
  const e = of('etcd');
  return { cpu: a.cpu, rss: a.rss, etcdCpu: e.cpu, etcdRss: e.rss };
}

/** The chart's ServiceAccount, RBAC and admission policy, as `helm template` renders them. */
function installChartAccess(): void {
  kubectl(kubeconfig, ['create', 'namespace', AGENT_NS]);
  const rendered = helm([
    'template',
    'nsreport',
    'charts/nsreport',
    '--namespace',
    AGENT_NS,
    '--set',
    'admissionPolicy.enabled=true',
    ...['serviceaccount', 'rbac', 'admissionpolicy'].flatMap((t) => [
      '--show-only',
      `templates/${t}.yaml`,
    ]),
  ]);
  kubectl(kubeconfig, ['apply', '-f', '-'], rendered);
}

function helm(args: string[]): string {
  const r = spawnSync(HELM, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`helm ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/**
 * Nodes, agent pods bound to them, a pod-bound token of each and PODS_PER_NODE reports of each
 * node, up to `n`.
 */
async function agents(have: SimAgent[], n: number, template: NamespaceReport): Promise<SimAgent[]> {
  if (have.length >= n) return have.slice(0, n);
  const rest = await restClient(kubeconfig);
  const from = have.length;
  const node = (i: number): string => `sim-node-${String(from + i).padStart(4, '0')}`;
  await createMany(
    rest,
    n - from,
    (i) => ({
      path: resourcePath(NODES),
      body: { apiVersion: 'v1', kind: 'Node', metadata: { name: node(i) } },
    }),
    () => null,
  );
  const pods = await createMany(
    rest,
    n - from,
    (i) => ({
      path: resourcePath(PODS, { namespace: AGENT_NS }),
      body: {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: `agent-${node(i)}`, namespace: AGENT_NS },
        spec: {
          nodeName: node(i),
          serviceAccountName: 'nsreport',
          containers: [{ name: 'agent', image: 'nsreport:bench' }],
        },
      },
    }),
    (p) => p as { metadata: { name: string; uid: string } },
  );
  const tokens = await createMany(
    rest,
    n - from,
    (i) => ({
      path: `/api/v1/namespaces/${AGENT_NS}/serviceaccounts/nsreport/token`,
      body: {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenRequest',
        metadata: { name: 'nsreport' },
        spec: {
          expirationSeconds: 24 * 3600,
          boundObjectRef: {
            apiVersion: 'v1',
            kind: 'Pod',
            name: pods[i]?.metadata.name,
            uid: pods[i]?.metadata.uid,
          },
        },
      },
    }),
    (t) => (t as { status: { token: string } }).status.token,
  );
  const added = tokens.map((token, i) => ({
    node: node(i),
    token,
    ownerUid: pods[i]?.metadata.uid ?? '',
  }));
  await createMany(
    rest,
    added.length * PODS_PER_NODE,
    (i) => {
      const a = added[Math.floor(i / PODS_PER_NODE)] as SimAgent;
      const at = { namespace: AGENT_NS, name: `${a.node}-pod-${i % PODS_PER_NODE}` };
      return {
        path: resourcePath(REPORTS, { namespace: AGENT_NS }),
        body: simReport(template, a, at),
      };
    },
    () => null,
  );
  return [...have, ...added];
}

/**
 * The API server's CPU for one request, over `times` in a row, less what it spends at rest
 * meanwhile (ms).
 */
async function costOf(
  times: number,
  restRate: number,
  call: () => Promise<unknown>,
): Promise<number> {
  const s0 = sample().cpu;
  const t0 = performance.now();
  for (let i = 0; i < times; i++) await call();
  const seconds = (performance.now() - t0) / 1000;
  return (Math.max(0, sample().cpu - s0 - restRate * seconds) / times) * 1000;
}

/** One node's list (the agent's start and relist), the agent's ping, and a list of limit=1. */
async function requestCosts(rest: RestClient, node: string, restRate: number): Promise<string[]> {
  const list = resourcePath(REPORTS);
  const ms = [
    await costOf(20, restRate, () =>
      rest.request('GET', list, {
        query: { labelSelector: `${LABEL_NODE}=${labelValue(node)}`, limit: 500 },
      }),
    ),
    await costOf(50, restRate, () => rest.request('GET', groupVersionPath(REPORTS))),
    await costOf(20, restRate, () => rest.request('GET', list, { query: { limit: 1 } })),
  ];
  return ms.map((x) => `${x.toFixed(1)} ms`);
}

/** N agents over WORKERS processes, all told to start at once. */
class Fleet {
  private readonly workers: ChildProcess[] = [];
  private readonly inbox = new Map<ChildProcess, ScaleAnswer[]>();
  private readonly waiters: (() => void)[] = [];

  constructor(n: number) {
    const count = Math.min(WORKERS, n);
    for (let w = 0; w < count; w++) {
      const child = fork(new URL('./scale-worker.js', import.meta.url), [], {
        execArgv: ['--max-old-space-size=4096'],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      this.inbox.set(child, []);
      child.on('message', (m: ScaleAnswer) => {
        this.inbox.get(child)?.push(m);
        for (const w of this.waiters.splice(0)) w();
      });
      this.workers.push(child);
    }
  }

  get size(): number {
    return this.workers.length;
  }

  tell(command: (w: number) => ScaleCommand): void {
    this.workers.forEach((child, w) => child.send(command(w)));
  }

  /** The next answer of type `type` from every worker. */
  async collect<T extends ScaleAnswer['type']>(
    type: T,
  ): Promise<Extract<ScaleAnswer, { type: T }>[]> {
    const take = (): Extract<ScaleAnswer, { type: T }>[] | null => {
      const got = this.workers.map((c) => this.inbox.get(c)?.find((m) => m.type === type));
      if (got.some((m) => m === undefined)) return null;
      for (const c of this.workers) {
        const box = this.inbox.get(c) ?? [];
        box.splice(
          box.findIndex((m) => m.type === type),
          1,
        );
      }
      return got as Extract<ScaleAnswer, { type: T }>[];
    };
    for (;;) {
      const got = take();
      if (got) return got;
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  async stop(): Promise<void> {
    this.tell(() => ({ type: 'stop' }));
    await Promise.all(this.workers.map((c) => new Promise((r) => c.once('exit', r))));
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((s.length * p) / 100))] ?? 0;
}

/** Samples the API server every 200 ms while `during` runs: CPU used and peak memory. */
async function watching<T>(
  during: () => Promise<T>,
): Promise<{ value: T; cpu: number; etcdCpu: number; peak: number; seconds: number }> {
  const s0 = sample();
  const t0 = performance.now();
  let peak = s0.rss;
  const t = setInterval(() => (peak = Math.max(peak, sample().rss)), 200);
  const value = await during();
  clearInterval(t);
  const s1 = sample();
  return {
    value,
    cpu: s1.cpu - s0.cpu,
    etcdCpu: s1.etcdCpu - s0.etcdCpu,
    peak: Math.max(peak, s1.rss),
    seconds: (performance.now() - t0) / 1000,
  };
}

async function run(): Promise<void> {
  const template = JSON.parse(readFileSync(process.argv[2] ?? '', 'utf8')) as NamespaceReport;
  const server = (
    JSON.parse(kubectl(kubeconfig, ['config', 'view', '--minify', '-o', 'json'])) as {
      clusters: { cluster: { server: string } }[];
    }
  ).clusters[0]?.cluster.server;
  if (!server) throw new Error('no server in the kubeconfig');
  installChartAccess();
  const admin = await restClient(kubeconfig);
  let fleetAgents: SimAgent[] = [];
  for (const n of STEPS) {
    const setup0 = performance.now();
    fleetAgents = await agents(fleetAgents, n, template);
    process.stderr.write(
      `bench: ${n} simulated agents ready (${((performance.now() - setup0) / 1000).toFixed(0)} s)\n`,
    );
    await sleep(5000); // what the setup wrote settles
    const fleet = new Fleet(n);
    const perWorker = (w: number): SimAgent[] =>
      fleetAgents.filter((_, i) => i % Math.max(1, fleet.size) === w);
    // The rollout: every agent lists and watches at once.
    const storm = await watching(async () => {
      if (fleet.size === 0) return { ms: [0], restarts: {} };
      fleet.tell((w) => ({
        type: 'start',
        server,
        caFile: join(dir, 'pki', 'ca.crt'),
        agents: perWorker(w),
        template,
        namespaces: NAMESPACES,
        ...AGENT,
      }));
      const synced = await Promise.race([
        fleet.collect('synced'),
        sleep(ROLLOUT_SECONDS * 1000).then(() => null),
      ]);
      if (synced === null) return null;
      return {
        ms: synced.flatMap((s) => s.ms),
        restarts: synced.reduce<Record<string, number>>((a, s) => {
          for (const [k, v] of Object.entries(s.restarts)) a[k] = (a[k] ?? 0) + v;
          return a;
        }, {}),
      };
    });
    if (storm.value === null) {
      // Not every watch open in time: the rollout is the figure; the rest is not measured.
      await fleet.stop();
      const row = [n, n * PODS_PER_NODE, `> ${ROLLOUT_SECONDS} s`, `${storm.cpu.toFixed(0)} s`];
      row.push(`${storm.peak.toFixed(0)} MiB`, ...Array<string>(9).fill('-'));
      process.stdout.write(`| ${row.join(' | ')} |\n`);
      continue;
    }
    const rest = await watching(() => sleep(SECONDS * 1000));
    const restRate = rest.cpu / rest.seconds;
    const costs = await requestCosts(admin, fleetAgents[0]?.node ?? 'none', restRate);
    let churn: Awaited<ReturnType<typeof watching<ScaleAnswer[]>>> | null = null;
    let churned: Extract<ScaleAnswer, { type: 'churned' }>[] = [];
    if (fleet.size > 0) {
      churn = await watching(async () => {
        fleet.tell(() => ({ type: 'churn', perSecond: CHURN / fleet.size, seconds: SECONDS }));
        churned = await fleet.collect('churned');
        return churned;
      });
    }
    await fleet.stop();
    const writes = churned.reduce((a, c) => a + c.writes, 0);
    const failed = churned.reduce((a, c) => a + c.failed, 0);
    const lat = churned.flatMap((c) => c.latencyMs);
    const perWrite =
      churn && writes > 0 ? ((churn.cpu - restRate * churn.seconds) / writes) * 1000 : 0;
    const row = [
      n,
      n * PODS_PER_NODE,
      `${(Math.max(...storm.value.ms) / 1000).toFixed(1)} s`,
      `${storm.cpu.toFixed(1)} s`,
      `${storm.peak.toFixed(0)} MiB`,
      `${(restRate * 1000).toFixed(0)} ms/s`,
      `${rest.peak.toFixed(0)} MiB`,
      n === 0 ? '-' : `${writes} (${failed} failed)`,
      n === 0 ? '-' : `${perWrite.toFixed(1)} ms`,
      n === 0 ? '-' : `${median(lat).toFixed(0)} / ${percentile(lat, 99).toFixed(0)} ms`,
      n === 0 ? '-' : `${writes - lat.length}`,
      ...costs,
    ];
    process.stdout.write(`| ${row.join(' | ')} |\n`);
    for (const e of new Set(churned.flatMap((c) => c.errors)))
      process.stderr.write(`bench: write failed: ${e}\n`);
    const restarts = Object.entries(storm.value.restarts);
    if (restarts.length > 0)
      process.stderr.write(
        `bench: ${n} agents: watch restarts during the rollout: ${restarts.map(([k, v]) => `${v} ${k}`).join(', ')}\n`,
      );
  }
}

await run();
