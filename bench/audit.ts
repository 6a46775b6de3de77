/**
 * `nsreport audit` over 10,000 NamespaceReports created through the API
 * (100 nodes, 20 namespaces; content of a real lab report). Prints time and peak RSS per output.
 *
 *   node dist/bench/audit.js   (run by bench/run.sh, with the control plane up)
 */
import { spawnSync } from 'node:child_process';
import { CLUSTER, LAB } from '../test/env.js';
import { applyObjects, kubectl } from '../test/lab/kube.js';
import { nsreport, nsreportArgv } from '../test/nsreport.js';
import { record } from './proc.js';

const { kubeconfig } = CLUSTER;
const COUNT = Number(process.env.BENCH_AUDIT_REPORTS ?? '10000');
const BATCH = 500;

interface Report {
  metadata: { name: string; namespace: string; labels: Record<string, string> };
  report: { node: string; pod: { uid: string } };
}

/** A real report to copy: what `nsreport scan` says of the lab's privileged pod. */
function template(): Report {
  const args = ['scan', '-o', 'json', '--cri-endpoint', LAB.socket, '--pod', 'nsr-lab/bidir'];
  const scan = nsreport([...args, '--host-pid', String(process.pid)]);
  if (scan.code !== 0) throw new Error(`nsreport scan failed: ${scan.stderr}`);
  const r = (JSON.parse(scan.stdout) as { items: Report[] }).items[0];
  if (!r) throw new Error('no lab pod to copy a report from');
  return r;
}

function create(t: Report): void {
  const namespaces = Array.from({ length: 20 }, (_, i) => `bench-${i}`);
  applyObjects(
    kubeconfig,
    namespaces.map((n) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: n } })),
  );
  for (let start = 0; start < COUNT; start += BATCH) {
    const items = Array.from({ length: Math.min(BATCH, COUNT - start) }, (_, k) => {
      const i = start + k;
      const node = `bench-node-${String(i % 100).padStart(3, '0')}`;
      const namespace = namespaces[i % namespaces.length] ?? 'bench-0';
      const name = `pod-${i}`;
      return {
        apiVersion: 'nsreport.dev/v1alpha1',
        kind: 'NamespaceReport',
        metadata: { name, namespace, labels: { ...t.metadata.labels, 'nsreport.dev/node': node } },
        // A UUID of its own (the CRD's pattern): no Pod's.
        report: {
          ...t.report,
          node,
          pod: { uid: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}` },
        },
      };
    });
    kubectl(
      kubeconfig,
      ['create', '-f', '-'],
      JSON.stringify({ apiVersion: 'v1', kind: 'List', items }),
    );
  }
}

/** Wall seconds and peak RSS (MiB) of one audit run, from GNU time. */
function measure(args: string[], nodeOptions = ''): { seconds: number; rssMiB: number } {
  const r = spawnSync(
    '/usr/bin/time',
    ['-f', '%e %M', ...nsreportArgv(['audit', '--kubeconfig', kubeconfig, ...args])],
    {
      encoding: 'utf8',
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, NODE_OPTIONS: nodeOptions },
    },
  );
  if (r.status !== 0) throw new Error(`audit ${args.join(' ')} failed: ${r.stderr}`);
  const [seconds = '0', kib = '0'] = r.stderr.trim().split('\n').at(-1)?.split(' ') ?? [];
  return { seconds: Number(seconds), rssMiB: Number(kib) / 1024 };
}

function run(): void {
  const t0 = performance.now();
  create(template());
  process.stderr.write(
    `bench: ${COUNT} reports created in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`,
  );
  for (const [label, args] of [
    ['table', []],
    ['json', ['-o', 'json']],
    ['csv', ['-o', 'csv']],
    ['--host-network (server-side filter)', ['--host-network']],
  ] as const) {
    const m = measure([...args]);
    if (label === 'table') {
      record('audit.seconds', m.seconds);
      record('audit.rss', m.rssMiB);
    }
    process.stdout.write(
      `| ${COUNT} | ${label} | ${m.seconds.toFixed(2)} s | ${m.rssMiB.toFixed(1)} MiB |\n`,
    );
  }
  // Live data stays small; the default peak is V8 collecting lazily. A capped old space shows it.
  const capped = measure([], '--max-old-space-size=64');
  process.stdout.write(
    `| ${COUNT} | table, NODE_OPTIONS=--max-old-space-size=64 | ${capped.seconds.toFixed(2)} s | ${capped.rssMiB.toFixed(1)} MiB |\n`,
  );
}

run();
