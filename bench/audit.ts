/**
 * `nsreport audit` at 10,000 and 150,000 NamespaceReports on a real API server, each report held
 * against a Pod of its own (bound to one of 30-pod nodes, as a cluster of 5,000 nodes has them at
 * 150,000): the content of real lab reports, one pod in 30 the privileged one with findings.
 * Prints time and peak RSS per output and size.
 *
 *   node dist/bench/audit.js PLAIN.json PRIVILEGED.json   (bench/run.sh: the control plane up)
 *   BENCH_AUDIT_SIZES=10000,150000
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { CLUSTER, LAB } from '../test/env.js';
import { applyObjects } from '../test/lab/kube.js';
import { nsreportArgv } from '../test/nsreport.js';
import { resourcePath } from '../src/k8s/rest.js';
import { PODS, REPORTS } from '../src/k8s/resources.js';
import { LABEL_NODE } from '../src/report/types.js';
import { createMany, restClient } from './objects.js';
import { record } from './proc.js';

const { kubeconfig } = CLUSTER;
const SIZES = (process.env.BENCH_AUDIT_SIZES ?? '10000,150000').split(',').map(Number);
const PODS_PER_NODE = 30;
const NAMESPACES = Array.from({ length: 50 }, (_, i) => `bench-${i}`);

interface Report {
  metadata: {
    name: string;
    namespace: string;
    labels: Record<string, string>;
    ownerReferences: object[];
  };
  report: { node: string; pod: { uid: string } };
}

/** A real report to copy: what `nsreport scan` said of a lab pod (bench/run.sh saved it). */
function template(file: string | undefined): Report {
  if (!file) throw new Error('usage: audit.js PLAIN_REPORT.json PRIVILEGED_REPORT.json');
  return JSON.parse(readFileSync(file, 'utf8')) as Report;
}

const where = (i: number): { name: string; namespace: string; node: string } => ({
  name: `pod-${i}`,
  namespace: NAMESPACES[i % NAMESPACES.length] ?? 'bench-0',
  node: `bench-node-${String(Math.floor(i / PODS_PER_NODE)).padStart(4, '0')}`,
});

/** Pods and their reports from `from` up to `to`, through the API, 16 requests at a time. */
async function grow(from: number, to: number, plain: Report, privileged: Report): Promise<void> {
  const rest = await restClient(kubeconfig);
  const uids = await createMany(
    rest,
    to - from,
    (k) => {
      const { name, namespace, node } = where(from + k);
      return {
        path: resourcePath(PODS, { namespace }),
        body: {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name, namespace },
          spec: { nodeName: node, containers: [{ name: 'app', image: LAB.image }] },
        },
      };
    },
    (pod) => (pod as { metadata: { uid: string } }).metadata.uid,
  );
  await createMany(
    rest,
    to - from,
    (k) => {
      const i = from + k;
      const { name, namespace, node } = where(i);
      const uid = uids[k] ?? '';
      const t = i % PODS_PER_NODE === 0 ? privileged : plain;
      return {
        path: resourcePath(REPORTS, { namespace }),
        body: {
          apiVersion: 'nsreport.dev/v1alpha1',
          kind: 'NamespaceReport',
          metadata: {
            name,
            namespace,
            labels: { ...t.metadata.labels, [LABEL_NODE]: node },
            ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name, uid }],
          },
          report: { ...t.report, node, pod: { uid } },
        },
      };
    },
    () => null,
  );
}

/** The old space (MiB) the audit of `reports` runs in when capped. */
const cap = (reports: number): number => 64 + Math.ceil(reports / 1500);

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

async function run(): Promise<void> {
  const plain = template(process.argv[2]);
  const privileged = template(process.argv[3]);
  applyObjects(
    kubeconfig,
    NAMESPACES.map((n) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: n } })),
  );
  let have = 0;
  for (const size of SIZES) {
    const t0 = performance.now();
    await grow(have, size, plain, privileged);
    have = size;
    const created = ((performance.now() - t0) / 1000).toFixed(1);
    process.stderr.write(`bench: ${size} pods and reports (created in ${created} s)\n`);
    const rows: [string, string[], string][] = [
      ['table', [], ''],
      ['json', ['-o', 'json'], ''],
      ['csv', ['-o', 'csv'], ''],
      ['--host-network (server-side filter)', ['--host-network'], ''],
      // Live data stays small; the default peak is V8 collecting lazily. A capped old space shows
      // it: 64 MiB and ~0.7 KiB a report (the rows and Pods the audit holds, ~90 MiB at 150,000).
      [
        `table, NODE_OPTIONS=--max-old-space-size=${cap(size)}`,
        [],
        `--max-old-space-size=${cap(size)}`,
      ],
    ];
    for (const [label, args, nodeOptions] of rows) {
      const m = measure(args, nodeOptions);
      if (label === 'table') {
        const key = size === 10000 ? 'audit' : `audit.${size}`;
        record(`${key}.seconds`, m.seconds);
        record(`${key}.rss`, m.rssMiB);
      }
      process.stdout.write(
        `| ${size} | ${label} | ${m.seconds.toFixed(2)} s | ${m.rssMiB.toFixed(1)} MiB |\n`,
      );
    }
  }
}

await run();
