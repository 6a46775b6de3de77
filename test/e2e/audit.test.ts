import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { AuditResult } from '../../src/audit/audit.js';
import { applyObjects, kubectl } from '../lab/kube.js';
import type { LabPod } from '../lab/pods.js';
import { CLUSTER, LAB } from '../env.js';
import { NSREPORT, nsreport, runNsreport, type CliResult } from '../nsreport.js';

/**
 * `nsreport audit` against the real API server, on the reports the agent suite left, plus a
 * coverage case: a node and a hostNetwork Pod object without reports, and a report that
 * disagrees with its Pod (its spec and its UID).
 */
const { kubeconfig } = CLUSTER;
const labDir = LAB.dir;
let pods: LabPod[];
let work: string;

function audit(args: string[], env: Record<string, string> = {}): CliResult {
  return nsreport(['audit', ...args], { env: { KUBECONFIG: kubeconfig, ...env } });
}

function json(args: string[] = []): AuditResult {
  const r = audit(['-o', 'json', ...args]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as AuditResult;
}

function podNames(result: AuditResult): string[] {
  return result.nodes.flatMap((n) => n.pods.map((p) => `${p.namespace}/${p.name}`)).sort();
}

/** A well-formed UID (the CRD's pattern refuses any other) that is no Pod's. */
const LIAR_UID = '00000000-0000-4000-8000-000000000000';

before(() => {
  assert.ok(kubeconfig, 'run through test/e2e/run.sh');
  pods = JSON.parse(readFileSync(join(labDir, 'pods.json'), 'utf8')) as LabPod[];
  work = mkdtempSync(join(tmpdir(), 'nsreport-audit-'));
  const ghost = (name: string, hostNetwork: boolean): object => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'nsr-lab' },
    spec: { nodeName: 'ghost-node', hostNetwork, containers: [{ name: 'app', image: 'busybox' }] },
  });
  const liar = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'liar', namespace: 'nsr-lab' },
    spec: {
      nodeName: 'nsr-e2e-node',
      hostNetwork: true,
      containers: [{ name: 'app', image: 'busybox' }],
    },
  };
  applyObjects(kubeconfig, [
    { apiVersion: 'v1', kind: 'Node', metadata: { name: 'ghost-node' } },
    ghost('ghost', true),
    ghost('ghost-plain', false),
    liar,
  ]);
  recreateLiar();
});

/**
 * A report that says the pod does not share the host network, although its spec says it does,
 * and that describes another pod (LIAR_UID).
 */
function recreateLiar(): void {
  const base = JSON.parse(
    kubectl(kubeconfig, ['get', 'nsr', '-n', 'nsr-lab', 'multi', '-o', 'json']),
  ) as { report: object; metadata: { labels: Record<string, string> } };
  applyObjects(kubeconfig, [
    {
      apiVersion: 'nsreport.dev/v1alpha1',
      kind: 'NamespaceReport',
      metadata: {
        name: 'liar',
        namespace: 'nsr-lab',
        labels: { ...base.metadata.labels, 'nsreport.dev/node': 'nsr-e2e-node' },
      },
      report: { ...base.report, pod: { uid: LIAR_UID } },
    },
  ]);
}

after(() => {
  kubectl(kubeconfig, [
    'delete',
    'pod',
    '-n',
    'nsr-lab',
    'ghost',
    'ghost-plain',
    'liar',
    '--grace-period=0',
    '--force',
    '--ignore-not-found',
  ]);
  kubectl(kubeconfig, ['delete', 'nsr', '-n', 'nsr-lab', 'liar', '--ignore-not-found']);
  kubectl(kubeconfig, ['delete', 'node', 'ghost-node', '--ignore-not-found']);
  rmSync(work, { recursive: true, force: true });
});

test('table: pods grouped by node, fits 120 columns, findings worst first; summary; coverage; -o wide has every column', () => {
  const r = audit([]);
  assert.equal(r.code, 0, r.stderr);
  for (const line of r.stdout.split('\n')) assert.ok(line.length <= 120, line);
  // The liar's Pod asks for hostNetwork: it counts as such, whatever its report says.
  assert.match(r.stdout, /^NODE nsr-e2e-node: \d+ pods, 2 hostNetwork$/m);
  assert.match(
    r.stdout,
    /^\s+POD\s+HOSTNET\s+HOST LISTENERS\s+SENSITIVE MOUNTS\s+FINDINGS\s+SEVERITY$/m,
  );
  assert.match(r.stdout, /nsr-lab\/hostnet\s+true\s+tcp6\/39180\s+-\s+NSR001,NSR008\s+high/);
  assert.match(
    r.stdout,
    /nsr-lab\/runtime-sock\s+false\s+-\s+…\S*containerd\.sock\s+NSR007,NSR012\s+critical/,
  );
  assert.match(r.stdout, /nsr-lab\/bidir\s+false\s+-\s+-\s+NSR009,NSR004\s+critical/);
  // The liar's report is held against its Pod: another UID, and hostNetwork in the spec.
  assert.match(r.stdout, /nsr-lab\/liar\s+true\s.*\s!host-network,!uid(?: \+\d+)?\s+critical$/m);
  assert.match(r.stdout, /^Untrusted: 1 reports disagree with their Pods \(! in FINDINGS\)$/m);
  assert.match(
    r.stdout,
    /^ {2}nsr-lab\/liar: says hostNetwork false; the Pod spec says true \(critical\)$/m,
  );
  assert.match(
    r.stdout,
    new RegExp(
      // 120 columns: the Pod's UID goes on under the line.
      `^ {2}nsr-lab/liar: describes pod UID ${LIAR_UID}; the Pod of this name is\\n {4}\\S+ \\(critical\\)$`,
      'm',
    ),
  );
  assert.match(
    r.stdout,
    /^Summary: \d+ pods on \d+ nodes \(\d+ reports read\); hostNetwork: 2 pods on 1 nodes\n {2}findings: critical \d+, high \d+, medium \d+, low \d+; accepted: 0$/m,
  );
  assert.match(r.stdout, /^Coverage: agents expected on every node \(no agent DaemonSet found\)$/m);
  assert.match(r.stdout, /^ {2}nodes with pods but no reports: ghost-node$/m);
  assert.match(r.stdout, /hostNetwork pods without a report: nsr-lab\/ghost \(ghost-node\)$/m);
  assert.match(
    r.stdout,
    /^ {2}pods without a report: nsr-lab\/ghost \(ghost-node\), nsr-lab\/ghost-plain \(ghost-node\)$/m,
  );
  assert.match(r.stdout, /^ {2}reports without a Pod: none$/m);
  assert.match(
    r.stdout,
    /hostNetwork pods whose report disagrees: nsr-lab\/liar \(nsr-e2e-node: observed false\)$/m,
  );
  const wide = audit(['-o', 'wide']);
  assert.match(
    wide.stdout,
    /^\s+POD\s+CONTAINERS\s+HOSTNET\s+HOST LISTENERS\s+SENSITIVE MOUNTS\s+PROPAGATION\s+FINDINGS\s+SEVERITY$/m,
  );
  assert.match(
    wide.stdout,
    /nsr-lab\/bidir\s+1\s+false\s+-\s+-\s+\/shared=shared\s+NSR009,NSR004\s+critical/,
  );
  assert.ok(!(r.stdout + wide.stdout).includes('\u001b['), 'no color: stdout is not a terminal');
});

test('json: the documented schema', () => {
  const result = json();
  assert.equal(result.apiVersion, 'nsreport.dev/v1alpha1');
  assert.equal(result.kind, 'NamespaceAudit');
  assert.deepEqual(
    Object.keys(result.summary).sort(),
    [
      'accepted',
      'findingsBySeverity',
      'highestSeverity',
      'hostNetworkNodes',
      'hostNetworkPods',
      'nodes',
      'pods',
      'reports',
      'untrusted',
    ].sort(),
  );
  assert.equal(result.summary.untrusted, 1);
  const liar = result.nodes.flatMap((n) => n.pods).find((p) => p.name === 'liar');
  assert.deepEqual(liar?.integrity?.map((i) => i.check).sort(), ['host-network', 'uid']);
  assert.equal(liar?.severity, 'critical');
  for (const p of result.nodes.flatMap((n) => n.pods))
    if (p.name !== 'liar') assert.deepEqual(p.integrity, [], `${p.name}: holds against its Pod`);
  for (const p of pods) assert.ok(podNames(result).includes(`nsr-lab/${p.name}`), p.name);
  const hostnet = result.nodes.flatMap((n) => n.pods).find((p) => p.name === 'hostnet');
  assert.deepEqual(hostnet?.hostListeners, ['tcp6/39180 (server)']);
  assert.equal(hostnet?.hostNetwork, true);
  assert.deepEqual(result.coverage.nodesWithoutReports, ['ghost-node']);
  assert.deepEqual(result.coverage.hostNetworkPodsWithoutReport, [
    { namespace: 'nsr-lab', name: 'ghost', node: 'ghost-node' },
  ]);
  assert.deepEqual(result.coverage.hostNetworkDisagreements, [
    { namespace: 'nsr-lab', name: 'liar', node: 'nsr-e2e-node', observed: 'false' },
  ]);
});

test('csv: one row per pod', () => {
  const r = audit(['-o', 'csv']);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.equal(
    lines[0],
    'node,namespace,pod,host_network,host_pid,host_ipc,containers,host_listeners,sensitive_mounts,propagation,findings,severity,integrity',
  );
  assert.equal(lines.length - 1, podNames(json()).length);
  assert.ok(
    lines.includes(
      'nsr-e2e-node,nsr-lab,hostnet,true,false,false,1,tcp6/39180 (server),,,NSR001;NSR008,high,',
    ),
    r.stdout,
  );
});

test('filters: on what holds against the Pods, never on labels; a report that lies passes them all; pages give the same answer', () => {
  assert.deepEqual(podNames(json(['--host-network'])), ['nsr-lab/hostnet', 'nsr-lab/liar']);
  assert.deepEqual(podNames(json(['--min-severity', 'critical'])), [
    'nsr-lab/bidir',
    'nsr-lab/liar',
    'nsr-lab/runtime-sock',
  ]);
  assert.deepEqual(podNames(json(['--finding', 'NSR007'])), [
    'nsr-lab/liar',
    'nsr-lab/runtime-sock',
  ]);
  assert.ok(podNames(json(['--finding', 'NSR001'])).includes('nsr-lab/liar'));
  assert.deepEqual(podNames(json(['--node', 'ghost-node'])), []);
  assert.deepEqual(json(['--node', 'ghost-node']).coverage.nodesWithoutReports, ['ghost-node']);
  assert.deepEqual(podNames(json(['-n', 'default'])), []);
  assert.deepEqual(json(['--page-size', '2']), json());
});

test('--fail-on exits 3 when a finding or a report that disagrees with its Pod reaches the severity, 0 otherwise', () => {
  assert.equal(audit(['--fail-on', 'critical']).code, 3);
  // The liar is critical whatever the filter: it disagrees with its Pod.
  assert.equal(audit(['--fail-on', 'critical', '--finding', 'NSR001']).code, 3);
  assert.equal(audit(['--fail-on', 'high', '--finding', 'NSR001']).code, 3);
  kubectl(kubeconfig, ['delete', 'nsr', '-n', 'nsr-lab', 'liar']);
  try {
    assert.equal(audit(['--fail-on', 'critical', '--finding', 'NSR001']).code, 0);
  } finally {
    recreateLiar();
  }
});

test('errors: unreachable API server, no permission, bad flags: one clear line each', () => {
  const unreachable = join(work, 'unreachable.kubeconfig');
  writeFileSync(
    unreachable,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        { name: 'c', cluster: { server: 'https://127.0.0.1:1', 'insecure-skip-tls-verify': true } },
      ],
      users: [{ name: 'u', user: { token: 'x' } }],
      contexts: [{ name: 'c', context: { cluster: 'c', user: 'u' } }],
      'current-context': 'c',
    }),
  );
  const down = audit([], { KUBECONFIG: unreachable });
  assert.equal(down.code, 1);
  assert.match(down.stderr, /^nsreport: cannot reach the API server at https:\/\/127\.0\.0\.1:1: /);
  assert.equal(down.stderr.trim().split('\n').length, 1);

  kubectl(kubeconfig, ['create', 'serviceaccount', 'nobody', '-n', 'nsr-lab']);
  const token = kubectl(kubeconfig, ['create', 'token', 'nobody', '-n', 'nsr-lab']).trim();
  const admin = JSON.parse(kubectl(kubeconfig, ['config', 'view', '--raw', '-o', 'json'])) as {
    clusters: { cluster: object }[];
  };
  const nobody = join(work, 'nobody.kubeconfig');
  writeFileSync(
    nobody,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'c', cluster: admin.clusters[0]?.cluster }],
      users: [{ name: 'u', user: { token } }],
      contexts: [{ name: 'c', context: { cluster: 'c', user: 'u' } }],
      'current-context': 'c',
    }),
  );
  const denied = audit(['--kubeconfig', nobody]);
  assert.equal(denied.code, 1);
  assert.match(
    denied.stderr,
    /^nsreport: not allowed to list namespacereports on https:\/\/127\.0\.0\.1:\d+ \(forbidden\)/,
  );
  assert.equal(denied.stderr.trim().split('\n').length, 1);

  const bad = audit(['-o', 'xml', '--fail-on', 'sometimes', '--finding', 'X1']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--output/);
  assert.match(bad.stderr, /--fail-on/);
  assert.match(bad.stderr, /--finding/);
  const context = audit(['--context', 'nope']);
  assert.equal(context.code, 2);
  assert.match(context.stderr, /context "nope" is not in the kubeconfig/);
});

test('progress: on a terminal an audit of many pages says how far it is; nothing in a pipe or with -o json', () => {
  // util-linux script(1) gives the audit a terminal for stdout and stderr, as a person's shell.
  const atTerminal = (...args: string[]): string =>
    spawnSync(
      'script',
      [
        '-qec',
        [
          process.execPath,
          NSREPORT,
          'audit',
          '--kubeconfig',
          kubeconfig,
          '--page-size',
          '1',
          ...args,
        ].join(' '),
        '/dev/null',
      ],
      { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } },
    ).stdout;
  const table = atTerminal();
  assert.match(table, /\rnsreport: \d+ reports read \(\d+ pages\)/);
  assert.match(table, /^ {2}POD +HOSTNET/m);
  assert.doesNotMatch(atTerminal('-o', 'json'), /reports read/);
  const piped = nsreport(['audit', '--kubeconfig', kubeconfig, '--page-size', '1']);
  assert.equal(piped.code, 0, piped.stderr);
  assert.doesNotMatch(piped.stderr, /reports read/);
});

test('kubectl nsreport audit: the same command as a kubectl plugin', () => {
  const bin = join(work, 'bin');
  mkdirSync(bin, { recursive: true });
  const plugin = join(bin, 'kubectl-nsreport');
  writeFileSync(plugin, `#!/bin/sh\nexec "${process.execPath}" "${NSREPORT}" "$@"\n`);
  chmodSync(plugin, 0o755);
  const r = spawnSync('kubectl', ['nsreport', 'audit', '--host-network', '-o', 'json'], {
    encoding: 'utf8',
    env: { ...process.env, KUBECONFIG: kubeconfig, PATH: `${bin}:${process.env.PATH ?? ''}` },
  });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(podNames(JSON.parse(r.stdout) as AuditResult), [
    'nsr-lab/hostnet',
    'nsr-lab/liar',
  ]);
});

test('a reader that closes stdout (audit -o csv | head -1) ends the audit quietly; --fail-on still gates', async () => {
  const run = (args: string[]): ReturnType<typeof runNsreport> =>
    runNsreport(['audit', ...args], {
      env: { KUBECONFIG: kubeconfig },
      timeoutMs: 60_000,
      closeStdout: true,
    });
  const csv = await run(['-o', 'csv']);
  assert.equal(csv.timedOut, false);
  assert.equal(csv.code, 0, csv.stderr);
  assert.doesNotMatch(csv.stderr, /EPIPE|^\s+at /m);
  const gate = await run(['--fail-on', 'critical']);
  assert.equal(gate.code, 3, gate.stderr);
});
