/**
 * Size of the NamespaceReports as the API server stores them (compact JSON with managedFields,
 * what etcd holds for a custom resource), on the lab as bench/agent.ts left it: the distribution,
 * the kubelet-like filler pods' (a plain Deployment pod's volumes: token, configMap, secret,
 * emptyDir, etc-hosts, termination log), and what 150,000 pods (Kubernetes' scale limit) add.
 *
 *   node dist/bench/size.js   (run by bench/run.sh after the agent part)
 */
import { execFileSync } from 'node:child_process';
import { CLUSTER } from '../test/env.js';
import { record } from './proc.js';

const { kubeconfig } = CLUSTER;
const PODS_AT_SCALE = 150_000;

interface Item {
  metadata: { name: string };
}

const items = (
  JSON.parse(
    execFileSync(
      'kubectl',
      ['--kubeconfig', kubeconfig, 'get', 'nsr', '-A', '-o', 'json', '--show-managed-fields'],
      { encoding: 'utf8', maxBuffer: 1024 * 1024 * 1024 },
    ),
  ) as { items: Item[] }
).items;
const sizes = items.map((i) => Buffer.byteLength(JSON.stringify(i))).sort((a, b) => a - b);
const filler = items
  .filter((i) => i.metadata.name.startsWith('filler-'))
  .map((i) => Buffer.byteLength(JSON.stringify(i)))
  .sort((a, b) => a - b);
const at = (xs: number[], q: number): number =>
  xs[Math.min(xs.length - 1, Math.floor(q * xs.length))] ?? 0;
const kib = (n: number): string => `${(n / 1024).toFixed(1)} KiB`;
const mean = sizes.reduce((a, b) => a + b, 0) / Math.max(sizes.length, 1);
process.stdout.write(
  `| ${sizes.length} | ${kib(at(filler, 0.5))} | ${kib(at(sizes, 0))} / ${kib(at(sizes, 0.5))} / ${kib(at(sizes, 0.99))} / ${kib(at(sizes, 1))} | ${((mean * PODS_AT_SCALE) / 1024 ** 3).toFixed(2)} GiB |\n`,
);
record('size.plain.median', at(filler, 0.5));
record('size.p99', at(sizes, 0.99));
record('size.atScale.gib', (mean * PODS_AT_SCALE) / 1024 ** 3);
