import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { nsreport } from '../nsreport.js';

/** One version: the package's. The chart, its appVersion (the image tag) and Artifact Hub agree. */
const file = (p: string): string =>
  readFileSync(fileURLToPath(new URL(`../../../${p}`, import.meta.url)), 'utf8');

test('package.json, Chart.yaml version and appVersion, and the Artifact Hub image tag are one version', () => {
  const pkg = JSON.parse(file('package.json')) as { version: string };
  const chart = parse(file('charts/nsreport/Chart.yaml')) as {
    version: string;
    appVersion: string;
    annotations: Record<string, string>;
  };
  assert.equal(chart.version, pkg.version);
  assert.equal(chart.appVersion, pkg.version);
  const images = parse(chart.annotations['artifacthub.io/images'] ?? '') as { image: string }[];
  assert.deepEqual(
    images.map((i) => i.image),
    [`nsreport:${pkg.version}`],
  );
  const crds = parse(chart.annotations['artifacthub.io/crds'] ?? '') as { name: string }[];
  assert.deepEqual(
    crds.map((c) => c.name),
    ['namespacereports.nsreport.dev'],
  );
});

test('nsreport version: its own version first; the agents part never fails the command', () => {
  const pkg = JSON.parse(file('package.json')) as { version: string };
  const run = (...args: string[]) =>
    nsreport(args, { env: { KUBECONFIG: '/nonexistent/kubeconfig' } });
  for (const args of [['--version'], ['version', '--client']]) {
    const r = run(...args);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, `nsreport ${pkg.version}\n`);
    assert.equal(r.stderr, '');
  }
  const r = run('version', '--kubeconfig', '/nonexistent/kubeconfig');
  assert.equal(r.code, 0);
  assert.equal(r.stdout, `nsreport ${pkg.version}\n`);
  assert.match(r.stderr, /^nsreport: agents: not checked \(.+\)\n$/);
  assert.equal(run('version', 'extra').code, 2);
});
