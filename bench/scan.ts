/**
 * The scan: the lab at 10, 50 and 100 pods; cold and steady-state scan time and
 * CPU of the scanner (in process) and of the `nsreport scan` process, side by side with the
 * manual method (per container: crictl inspect for the PID, readlink of its ns links,
 * findmnt -N) run in the same process tree, and beside the floor (bench/scan-floor.ts: the same
 * CRI calls and /proc reads by the simplest client, nothing else done). Prints a table.
 *
 *   node dist/bench/scan.js CRICTL   (run by bench/run.sh, which starts the lab)
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connectCri, runtimeClient } from '../src/cri/client.js';
import { readMembership } from '../src/collect/processes.js';
import { createScanner } from '../src/collect/scanner.js';
import { createLabClient, type LabRuntimeClient } from '../test/lab/cri.js';
import { buildReport } from '../src/report/report.js';
import { createPodObjects } from '../test/lab/kube.js';
import { fillerPods, runPod, scenarioPods } from '../test/lab/pods.js';
import { CLUSTER, LAB } from '../test/env.js';
import { NSREPORT } from '../test/nsreport.js';
import { median, record } from './proc.js';
import { recordingFs, replay, type Recorded } from './scan-floor.js';

const { socket, image, hostDir } = LAB;
const crictl = process.argv[2] ?? 'crictl';
const SIZES = (process.env.BENCH_SIZES ?? '10,50,100').split(',').map(Number);
const STEADY_RUNS = 20;

interface Cost {
  wallMs: number;
  cpuMs: number;
}

async function measure(fn: () => Promise<unknown>): Promise<Cost> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await fn();
  const c = process.cpuUsage(c0);
  return { wallMs: performance.now() - t0, cpuMs: (c.user + c.system) / 1000 };
}

/** The median wall time and the median CPU of several runs. */
function medianCost(runs: readonly Cost[]): Cost {
  return { wallMs: median(runs.map((r) => r.wallMs)), cpuMs: median(runs.map((r) => r.cpuMs)) };
}

/** Wall and CPU (user+sys of all children) of a bash script, via bash's `times`. */
function bashCost(script: string): Cost {
  const t0 = performance.now();
  const out = execFileSync('bash', ['-c', `${script}\ntimes`], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  const wallMs = performance.now() - t0;
  const lines = out.trim().split('\n');
  const children = lines.at(-1) ?? '';
  const secs = [...children.matchAll(/(\d+)m([\d.]+)s/g)].map(
    (m) => Number(m[1]) * 60 + Number(m[2]),
  );
  return { wallMs, cpuMs: ((secs[0] ?? 0) + (secs[1] ?? 0)) * 1000 };
}

async function ensurePods(cri: LabRuntimeClient, target: number, have: number): Promise<number> {
  const scenarios = scenarioPods(hostDir, socket);
  const specs =
    have === 0
      ? [...scenarios, ...fillerPods(hostDir, target - scenarios.length)]
      : fillerPods(hostDir, target - have, have - scenarios.length);
  // With a cluster, Pod objects first (their UIDs own the reports the agent bench writes).
  const { kubeconfig } = CLUSTER;
  const uids = kubeconfig
    ? createPodObjects(kubeconfig, specs, 'nsr-bench-node', image)
    : new Map<string, string>();
  for (let i = 0; i < specs.length; i += 4) {
    await Promise.all(specs.slice(i, i + 4).map((s) => runPod(cri, s, image, uids.get(s.name))));
  }
  return target;
}

interface Row {
  pods: number;
  containers: number;
  cold: Cost;
  steady: Cost;
  /** Of a steady scan: the pass over /proc that finds every container's processes by cgroup. */
  processPass: Cost;
  process: Cost;
  manual: Cost;
  /** The same CRI calls and /proc reads as a cold scan, by the simplest client: in process. */
  floor: Cost;
  /** The same, as a process (Node, grpc-js and the codec loaded, then the calls and reads). */
  floorProcess: Cost;
}

const FLOOR_PROCESS = fileURLToPath(new URL('./scan-floor.js', import.meta.url));

/** What a cold scan asks of the runtime and reads from /proc, and the floor of doing only that. */
async function floorOf(): Promise<{ floor: Cost; floorProcess: Cost }> {
  const conn = connectCri(socket, { timeoutMs: 60_000 });
  const rec: Recorded = { socket, calls: [], fs: [] };
  const runtime = runtimeClient({
    ...conn,
    call: <T>(method: string, req: object): Promise<T> => {
      rec.calls.push({ method, req });
      return conn.call<T>(method, req);
    },
  });
  const scanner = createScanner({
    runtime,
    procRoot: '/proc',
    hostPid: process.pid,
    node: 'bench',
    networkMaxAgeMs: 60_000,
  });
  await recordingFs(rec.fs, () => scanner.scan());
  // The same channel, warm as the cold scan's: the floor of the calls, not of a connect.
  const runs: Cost[] = [];
  for (let i = 0; i < 5; i++) runs.push(await measure(() => replay(conn, rec)));
  conn.close();
  const dir = mkdtempSync(join(tmpdir(), 'nsreport-floor-'));
  try {
    const file = join(dir, 'recorded.json');
    writeFileSync(file, JSON.stringify(rec));
    const processes = Array.from({ length: 3 }, () => bashCost(`node ${FLOOR_PROCESS} ${file}`));
    return {
      floor: medianCost(runs),
      floorProcess: medianCost(processes),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function benchAt(cri: LabRuntimeClient, pods: number): Promise<Row> {
  const scanner = createScanner({
    runtime: cri,
    procRoot: '/proc',
    hostPid: process.pid,
    node: 'bench',
    networkMaxAgeMs: 60_000,
  });
  let containers = 0;
  // A scan as the agent runs it: collect, inspect, and build every pod's NamespaceReport.
  const scanAndReport = async (): Promise<number> => {
    const reports = (await scanner.scan()).pods.map((p) => buildReport(p, null));
    return reports.reduce((n, r) => n + r.report.containers.length, 0);
  };
  const cold = await measure(async () => {
    containers = await scanAndReport();
  });
  const steadyRuns: Cost[] = [];
  for (let i = 0; i < STEADY_RUNS; i++) steadyRuns.push(await measure(scanAndReport));
  const steady = medianCost(steadyRuns);
  const inits = (await scanner.scan()).snapshot.sandboxes.flatMap((sb) =>
    sb.containers.flatMap((c) =>
      c.namespaces?.ok && c.detail ? [{ id: c.summary.id, pid: c.detail.pid }] : [],
    ),
  );
  const passRuns: Cost[] = [];
  for (let i = 0; i < STEADY_RUNS; i++)
    passRuns.push(await measure(() => Promise.resolve(readMembership('/proc', inits))));
  const processPass = medianCost(passRuns);
  const proc = bashCost(
    `node ${NSREPORT} scan -o json --cri-endpoint ${socket} --host-pid ${process.pid} >/dev/null`,
  );
  const ids = (await cri.listContainers()).filter((c) => c.state === 'running').map((c) => c.id);
  const manual = bashCost(
    `for id in ${ids.join(' ')}; do
       pid=$(${crictl} -r unix://${socket} inspect -o go-template --template '{{.info.pid}}' "$id" 2>/dev/null)
       readlink /proc/$pid/ns/net /proc/$pid/ns/mnt /proc/$pid/ns/pid /proc/$pid/ns/ipc /proc/$pid/ns/uts /proc/$pid/ns/user /proc/$pid/ns/cgroup /proc/$pid/ns/time >/dev/null
       findmnt -N "$pid" -o TARGET,PROPAGATION >/dev/null
     done`,
  );
  return {
    pods,
    containers,
    cold,
    steady,
    processPass,
    process: proc,
    manual,
    ...(await floorOf()),
  };
}

const fmt = (c: Cost): string => `${c.wallMs.toFixed(1)} / ${c.cpuMs.toFixed(1)}`;
/** How close `c` comes to its floor: the floor's wall time as a share of its own. */
const pct = (floor: Cost, c: Cost): string => `${((floor.wallMs / c.wallMs) * 100).toFixed(0)}%`;

async function run(): Promise<void> {
  const cri = createLabClient(socket, { timeoutMs: 60_000 });
  const rows: Row[] = [];
  let have = 0;
  try {
    for (const n of SIZES) {
      have = await ensurePods(cri, n, have);
      rows.push(await benchAt(cri, n));
      process.stderr.write(`bench: ${n} pods done\n`);
    }
  } finally {
    cri.close();
  }
  const out = [
    '| pods | containers | scanner cold ms (wall / CPU) | scanner steady ms (wall / CPU, median of 20) | of which the pass over /proc (cgroups) | `nsreport scan` process ms (wall / CPU) | manual method ms (wall / CPU) | manual per container (wall ms) | cold vs manual (wall) | floor ms, in process / process (wall) | floor vs manual: the most a scan can reach | cold, process: share of their floor |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.pods} | ${r.containers} | ${fmt(r.cold)} | ${fmt(r.steady)} | ${fmt(r.processPass)} | ${fmt(r.process)} | ${fmt(r.manual)} | ${(r.manual.wallMs / r.containers).toFixed(1)} | ${(r.manual.wallMs / r.cold.wallMs).toFixed(0)}× (process: ${(r.manual.wallMs / r.process.wallMs).toFixed(0)}×) | ${r.floor.wallMs.toFixed(1)} / ${r.floorProcess.wallMs.toFixed(0)} | ${(r.manual.wallMs / r.floor.wallMs).toFixed(0)}× (process: ${(r.manual.wallMs / r.floorProcess.wallMs).toFixed(1)}×) | ${pct(r.floor, r.cold)} / ${pct(r.floorProcess, r.process)} |`,
    ),
  ];
  process.stdout.write(out.join('\n') + '\n');
  const last = rows.at(-1);
  if (last) {
    record('scan.cold.ratio', last.manual.wallMs / last.cold.wallMs);
    record('scan.process.ratio', last.manual.wallMs / last.process.wallMs);
    record('scan.floor.cold.ratio', last.manual.wallMs / last.floor.wallMs);
    record('scan.floor.process.ratio', last.manual.wallMs / last.floorProcess.wallMs);
    record('scan.cold.ofFloor', last.floor.wallMs / last.cold.wallMs);
    record('scan.process.ofFloor', last.floorProcess.wallMs / last.process.wallMs);
    record('scan.steady.cpu', last.steady.cpuMs);
    record('scan.pods', last.pods);
  }
}

await run();
