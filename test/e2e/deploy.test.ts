import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import { parseAllDocuments } from 'yaml';
import type { NamespaceReport } from '../../src/report/types.js';
import { CLUSTER, HELM as helm, LAB, ROOT as root, UPSTREAM_CRDS } from '../env.js';
import { applyObjects, kubectl } from '../lab/kube.js';
import { nsreport, nsreportArgv } from '../nsreport.js';
import type { LabPod } from '../lab/pods.js';
import {
  freePort,
  httpGet,
  labAgentArgs,
  labScanArgs,
  startAgent,
  until,
  type AgentProcess,
} from './agent-process.js';
import { spawn } from 'node:child_process';

/**
 * What we ship, proven on the real control plane: the chart (helm lint/template), manifests/
 * (in sync, accepted by the API server), the RBAC the agent's ServiceAccount gets, and the
 * agent itself run from the image's file set with Node 24, with the ServiceAccount's token and
 * only the capabilities the chart grants.
 */
const chart = join(root, 'charts/nsreport');
const { kubeconfig } = CLUSTER;
const { socket, dir: labDir } = LAB;
const SA = 'system:serviceaccount:nsreport:nsreport';
const NODE = 'nsr-e2e-lp';
let work: string;

function run(cmd: string, args: string[], input?: string): { code: number | null; out: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...(input !== undefined ? { input } : {}) });
  return { code: r.status, out: r.stdout + r.stderr };
}

function template(values?: string): string {
  return execFileSync(
    helm,
    ['template', 'nsreport', chart, '--namespace', 'nsreport', ...(values ? ['-f', values] : [])],
    { encoding: 'utf8' },
  );
}

const scenarios = (): string[] => readdirSync(join(chart, 'ci')).map((f) => join(chart, 'ci', f));

interface K8sDoc {
  kind?: string;
  spec?: {
    template?: {
      spec?: { containers?: { securityContext?: { capabilities?: { add?: string[] } } }[] };
    };
  };
}

before(() => {
  assert.ok(kubeconfig && socket, 'run through test/e2e/run.sh');
  work = mkdtempSync(join(tmpdir(), 'nsreport-deploy-'));
});

after(() => {
  rmSync(work, { recursive: true, force: true });
  // The reports this suite's agents wrote as their own node: the next suites' agents run as the
  // lab's node, and a report's node cannot change (the policy manifests/ installed).
  kubectl(kubeconfig, ['delete', 'nsr', '-n', 'nsr-lab', '-l', `nsreport.dev/node=${NODE}`]);
  kubectl(kubeconfig, [
    ...['delete', 'pod', 'nsr-agent-token', '-n', 'nsreport'],
    ...['--ignore-not-found', '--grace-period=0', '--force'],
  ]);
});

test('helm lint --strict: default values and every ci/ scenario', () => {
  for (const values of [undefined, ...scenarios()]) {
    const r = run(helm, ['lint', '--strict', chart, ...(values ? ['-f', values] : [])]);
    assert.equal(r.code, 0, `${values ?? 'defaults'}: ${r.out}`);
  }
  const bad = run(helm, ['lint', '--strict', chart, '--set', 'logLevel=loud']);
  assert.notEqual(bad.code, 0, 'values.schema.json rejects a bad value');
});

test('the chart README is what helm-docs makes of Chart.yaml and the values.yaml comments', () => {
  const check = run('bash', [join(root, 'scripts/chart-readme.sh'), '--check']);
  assert.equal(check.code, 0, check.out);
});

test('the rendered chart is accepted by the API server (dry-run=server), for every scenario, with the Prometheus Operator CRDs', () => {
  applyObjects(kubeconfig, [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'nsreport' } },
  ]);
  // The operator's own CRDs (scripts/fetch-crds.sh), so its kinds are validated for real.
  const crds = UPSTREAM_CRDS;
  assert.ok(crds, 'run through test/e2e/run.sh');
  const files = readdirSync(crds).map((f) => join(crds, f));
  execFileSync('kubectl', [
    '--kubeconfig',
    kubeconfig,
    'apply',
    ...files.flatMap((f) => ['-f', f]),
  ]);
  for (const crd of ['servicemonitors', 'prometheusrules'])
    execFileSync('kubectl', [
      ...['--kubeconfig', kubeconfig, 'wait', '--for=condition=Established', '--timeout=60s'],
      `crd/${crd}.monitoring.coreos.com`,
    ]);
  for (const values of [undefined, ...scenarios()]) {
    const docs = parseAllDocuments(template(values))
      .map((d) => d.toJS() as K8sDoc | null)
      .filter((d): d is K8sDoc => d !== null);
    const r = run(
      'kubectl',
      ['--kubeconfig', kubeconfig, 'apply', '--dry-run=server', '-f', '-'],
      JSON.stringify({ apiVersion: 'v1', kind: 'List', items: docs }),
    );
    assert.equal(r.code, 0, `${values ?? 'defaults'}: ${r.out}`);
  }
  // The custom scenario's NetworkPolicy admits the metrics port, from its namespace only.
  const policy = parseAllDocuments(template(join(chart, 'ci/custom-values.yaml')))
    .map((d) => d.toJS() as K8sDoc | null)
    .find((d) => d?.kind === 'NetworkPolicy') as
    { spec: { ingress: { ports: object[]; from: object[] }[] } } | undefined;
  assert.deepEqual(policy?.spec.ingress, [
    {
      ports: [{ port: 'metrics', protocol: 'TCP' }],
      from: [
        { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } },
      ],
    },
  ]);
  assert.doesNotMatch(template(undefined), /kind: NetworkPolicy/);
  const monitoring = template(join(chart, 'ci/monitoring-values.yaml'));
  assert.match(monitoring, /kind: ServiceMonitor/);
  assert.match(monitoring, /kind: PrometheusRule/);
  // Not forced: created only when the API server serves monitoring.coreos.com/v1.
  const asked = ['--set', 'serviceMonitor.enabled=true', '--set', 'prometheusRule.enabled=true'];
  const without = run(helm, ['template', 'nsreport', chart, ...asked]);
  assert.doesNotMatch(without.out, /kind: (ServiceMonitor|PrometheusRule)/);
  const served = run(helm, [
    ...['template', 'nsreport', chart, ...asked, '--api-versions'],
    'monitoring.coreos.com/v1/ServiceMonitor,monitoring.coreos.com/v1/PrometheusRule',
  ]);
  assert.match(served.out, /kind: ServiceMonitor/);
  assert.match(served.out, /kind: PrometheusRule/);
  execFileSync('kubectl', [
    ...['--kubeconfig', kubeconfig, 'delete', '--wait=true'],
    ...files.flatMap((f) => ['-f', f]),
  ]);
});

test('manifests/ is what the chart renders, and the API server accepts it', () => {
  const check = run('bash', [join(root, 'scripts/render-manifests.sh'), '--check']);
  assert.equal(check.code, 0, check.out);
  const r = run('kubectl', [
    '--kubeconfig',
    kubeconfig,
    'apply',
    '--dry-run=server',
    '-f',
    join(root, 'manifests/crd.yaml'),
    '-f',
    join(root, 'manifests/nsreport.yaml'),
  ]);
  assert.equal(r.code, 0, r.out);
  // Installed for real: the ServiceAccount and its RBAC are what the next tests run with.
  kubectl(kubeconfig, ['apply', '-f', join(root, 'manifests/nsreport.yaml')]);
});

test('RBAC: the ServiceAccount can do what the agent does on namespacereports, and nothing else', () => {
  const can = (verb: string, resource: string, ...extra: string[]): boolean =>
    run('kubectl', [
      '--kubeconfig',
      kubeconfig,
      'auth',
      'can-i',
      verb,
      resource,
      `--as=${SA}`,
      ...extra,
      // kubectl warns on stderr for cluster-scoped resources: the answer is the first line.
    ]).out.split('\n')[0] === 'yes';
  for (const verb of ['get', 'list', 'watch', 'create', 'patch', 'delete']) {
    assert.ok(can(verb, 'namespacereports.nsreport.dev', '-A'), `${verb} namespacereports`);
    assert.ok(
      can(verb, 'namespacereports.nsreport.dev', '-n', 'kube-system'),
      `${verb} in any namespace`,
    );
  }
  for (const verb of ['update', 'deletecollection'])
    assert.ok(!can(verb, 'namespacereports.nsreport.dev', '-A'), `not ${verb}`);
  // A static pod's report is owned by its Node: one get, nothing more on nodes. A disputed
  // report is decided by its Pod: one get, no list or watch of pods.
  assert.ok(can('get', 'nodes'));
  assert.ok(!can('list', 'nodes'));
  assert.ok(!can('patch', 'nodes'));
  assert.ok(can('get', 'pods', '-A'));
  assert.ok(!can('watch', 'pods', '-A'));
  assert.ok(!can('get', 'secrets', '-A'));
  assert.ok(!can('list', 'secrets', '-n', 'nsreport'));
  assert.ok(!can('patch', 'pods', '-A'));
  assert.ok(!can('list', 'pods', '-A'));
  assert.ok(!can('create', 'namespaces'));
  assert.ok(!can('patch', 'customresourcedefinitions.apiextensions.k8s.io'));
  // OpenReports rights only with openReports.enabled (off by default), and then what the agent
  // does: list and watch its node's (the reflector), apply (create, patch) and delete.
  assert.ok(!can('create', 'reports.openreports.io', '-A'));
  const role = parseAllDocuments(template(join(chart, 'ci/monitoring-values.yaml')))
    .map((d) => d.toJS() as { kind?: string; rules?: { apiGroups: string[]; verbs: string[] }[] })
    .find((d) => d.kind === 'ClusterRole');
  assert.deepEqual(role?.rules?.find((r) => r.apiGroups.includes('openreports.io'))?.verbs, [
    'list',
    'watch',
    'create',
    'patch',
    'delete',
  ]);
});

/** Capabilities the rendered DaemonSet grants its container. */
function chartCapabilities(): string[] {
  const ds = parseAllDocuments(template())
    .map((d) => d.toJS() as K8sDoc | null)
    .find((d) => d?.kind === 'DaemonSet');
  return ds?.spec?.template?.spec?.containers?.[0]?.securityContext?.capabilities?.add ?? [];
}

/** capsh arguments that drop every capability from the bounding set but `keep`. */
function capshDrop(keep: readonly string[]): string {
  const bounding =
    /Bounding set =(\S+)/.exec(execFileSync('capsh', ['--print'], { encoding: 'utf8' }))?.[1] ?? '';
  const kept = new Set(keep.map((c) => `cap_${c.toLowerCase()}`));
  return `--drop=${bounding
    .split(',')
    .filter((c) => !kept.has(c))
    .join(',')}`;
}

/**
 * A token of the agent's ServiceAccount bound to a Pod of it on this agent's node, as the kubelet
 * gets one for the DaemonSet pod: it names the node (what the chart's admission policy checks) and
 * dies with the Pod. The Pod is only an API object (no kubelet runs it).
 */
function serviceAccountToken(pod = 'nsr-agent-token'): string {
  applyObjects(kubeconfig, [
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: pod, namespace: 'nsreport' },
      spec: {
        nodeName: NODE,
        serviceAccountName: 'nsreport',
        containers: [{ name: 'agent', image: 'nsreport' }],
      },
    },
  ]);
  return kubectl(kubeconfig, [
    ...['create', 'token', 'nsreport', '-n', 'nsreport', '--duration=1h'],
    ...['--bound-object-kind', 'Pod', '--bound-object-name', pod],
  ]).trim();
}

/** A kubeconfig for the agent's ServiceAccount: the admin's cluster entry, the given user. */
function serviceAccountKubeconfig(
  user: Record<string, unknown> = { token: serviceAccountToken() },
  name = 'sa.kubeconfig',
): string {
  const admin = JSON.parse(kubectl(kubeconfig, ['config', 'view', '--raw', '-o', 'json'])) as {
    clusters: { cluster: { server: string; 'certificate-authority': string } }[];
  };
  const cluster = admin.clusters[0]?.cluster;
  assert.ok(cluster);
  const file = join(work, name);
  writeFileSync(
    file,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'c', cluster }],
      users: [{ name: 'nsreport', user }],
      contexts: [{ name: 'c', context: { cluster: 'c', user: 'nsreport' } }],
      'current-context': 'c',
    }),
  );
  return file;
}

function capsOf(pid: number): { eff: string; bnd: string } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return {
    eff: /^CapEff:\s+(\S+)/m.exec(status)?.[1] ?? '',
    bnd: /^CapBnd:\s+(\S+)/m.exec(status)?.[1] ?? '',
  };
}

test('the image file set runs the agent on Node 24 with the ServiceAccount token and only the chart capabilities: every report written', async () => {
  const caps = chartCapabilities();
  assert.deepEqual(caps, ['SYS_PTRACE', 'DAC_READ_SEARCH']);
  // The lab's reports are held by the earlier suites' node name; this agent runs as another
  // node and would rightly leave them alone (the live pods are not its): start from none.
  kubectl(kubeconfig, ['delete', 'nsr', '-n', 'nsr-lab', '--all', '--wait']);
  const rootfs = join(work, 'rootfs');
  execFileSync('bash', [join(root, 'scripts/image-rootfs.sh'), rootfs], { stdio: 'ignore' });
  const node24 = execFileSync('bash', [join(root, 'scripts/node24.sh')], {
    encoding: 'utf8',
  }).trim();
  const port = await freePort();
  const args = [
    ...labAgentArgs({ kubeconfig: serviceAccountKubeconfig(), node: NODE, socket, resync: '3s' }),
    '--metrics-addr',
    `127.0.0.1:${port}`,
  ];
  const child = spawn(
    'capsh',
    [
      capshDrop(caps),
      '--',
      '-c',
      'exec "$0" "$@"',
      node24,
      join(rootfs, 'app/dist/src/cli/main.js'),
      'agent',
      ...args,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let logs = '';
  child.stdout.on('data', (d: Buffer) => (logs += d.toString()));
  child.stderr.on('data', (d: Buffer) => (logs += d.toString()));
  const agent: Pick<AgentProcess, 'metricsUrl'> = { metricsUrl: `http://127.0.0.1:${port}` };
  try {
    await until(
      '/readyz',
      async () => ((await httpGet(`${agent.metricsUrl}/readyz`)).status === 200 ? true : undefined),
      30_000,
    ).catch((e: unknown) => {
      throw new Error(`${String(e)}\n${logs}`);
    });
    const { eff, bnd } = capsOf(child.pid ?? 0);
    // CAP_DAC_READ_SEARCH is bit 2, CAP_SYS_PTRACE bit 19.
    assert.equal(BigInt(`0x${eff}`), (1n << 2n) | (1n << 19n), `effective capabilities ${eff}`);
    assert.equal(BigInt(`0x${bnd}`), (1n << 2n) | (1n << 19n), `bounding set ${bnd}`);
    const pods = JSON.parse(readFileSync(join(labDir, 'pods.json'), 'utf8')) as LabPod[];
    const local = new Map(
      (
        JSON.parse(nsreport(labScanArgs(socket, '--node-name', NODE)).stdout) as {
          items: NamespaceReport[];
        }
      ).items.map((r) => [r.metadata.name, r]),
    );
    let last = '';
    await until(
      'every lab report written by this agent, identical to a full-privilege scan',
      () => {
        const api = (
          JSON.parse(kubectl(kubeconfig, ['get', 'nsr', '-n', 'nsr-lab', '-o', 'json'])) as {
            items: NamespaceReport[];
          }
        ).items;
        const mine = new Map(
          api.filter((r) => r.report.node === NODE).map((r) => [r.metadata.name, r]),
        );
        const missing = pods.filter(
          (p) => !isDeepStrictEqual(mine.get(p.name)?.report, local.get(p.name)?.report),
        );
        last = missing
          .map(
            (p) => `${p.name}: ${JSON.stringify(mine.get(p.name)?.report ?? null).slice(0, 400)}`,
          )
          .join('\n');
        return missing.length === 0 ? true : undefined;
      },
      30_000,
    ).catch((e: unknown) => {
      throw new Error(`${String(e)}\nstill different:\n${last}\nagent logs:\n${logs.slice(-3000)}`);
    });
    assert.doesNotMatch(logs, /forbidden/i);
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
});

test('each granted capability is needed: without it the scan loses what it is for', () => {
  const scan = (keep: string[]): NamespaceReport[] => {
    const out = execFileSync(
      'capsh',
      [capshDrop(keep), '--', '-c', 'exec "$0" "$@"', ...nsreportArgv(labScanArgs(socket))],
      { encoding: 'utf8' },
    );
    return (JSON.parse(out) as { items: NamespaceReport[] }).items;
  };
  const full = scan(['SYS_PTRACE', 'DAC_READ_SEARCH']);
  assert.ok(
    full.every((r) => r.report.containers.every((c) => c.error === undefined)),
    'with both: no container errors',
  );
  const nonroot = (rs: NamespaceReport[]): NamespaceReport | undefined =>
    rs.find((r) => r.metadata.name === 'nonroot');
  assert.equal(nonroot(full)?.report.network.listeners[0]?.container, 'web');

  const noPtrace = scan(['DAC_READ_SEARCH']);
  assert.ok(
    noPtrace.some((r) => r.report.containers.some((c) => /namespaces: denied/.test(c.error ?? ''))),
    'without SYS_PTRACE the namespace links of other processes are unreadable',
  );
  const noDac = scan(['SYS_PTRACE']);
  assert.equal(
    nonroot(noDac)?.report.network.listeners[0]?.container,
    '',
    "without DAC_READ_SEARCH a non-root container's sockets cannot be attributed",
  );
});

test('kubectl explain documents the NamespaceReport: its fields and their descriptions', () => {
  const explain = (field: string): string =>
    execFileSync('kubectl', ['--kubeconfig', kubeconfig, 'explain', field], {
      encoding: 'utf8',
    });
  const mounts = explain('namespacereports.report.containers.mounts');
  assert.match(mounts, /The container's declared mounts, with the propagation the kernel shows\./);
  for (const field of ['observedPropagation', 'hostPropagation', 'explained', 'consistent'])
    assert.match(mounts, new RegExp(`^\\s+${field}\\s+<\\w+>`, 'm'), field);
  assert.match(mounts, /Propagation in the container's mountinfo/);
  const accepted = explain('namespacereports.report.findings.accepted.source');
  assert.match(accepted, /config: the agent's acceptance rules/);
  assert.match(explain('namespacereports'), /How a pod's containers are isolated/);
});

test('a rotated ServiceAccount token is read again: the agent keeps writing after its first token is revoked', async () => {
  const tokenFile = join(work, 'token');
  const first = serviceAccountToken('nsr-token-1');
  writeFileSync(tokenFile, first);
  const firstOnly = serviceAccountKubeconfig({ token: first }, 'first-token.kubeconfig');
  const rotating = serviceAccountKubeconfig({ tokenFile }, 'rotating.kubeconfig');
  const agent = startAgent(
    labAgentArgs({ kubeconfig: rotating, node: NODE, socket, resync: '2s' }),
    await freePort(),
  );
  try {
    const reports = (): string[] =>
      kubectl(kubeconfig, [
        ...['get', 'nsr', '-n', 'nsr-lab', '-l', `nsreport.dev/node=${NODE}`],
        ...['-o', 'jsonpath={.items[*].metadata.name}'],
      ])
        .split(' ')
        .filter((n) => n !== '');
    const written = await until(
      'the agent writes its reports with the first token',
      () => {
        const names = reports();
        return names.length > 0 ? names : undefined;
      },
      30_000,
    );
    // The kubelet's rotation: a new token in the file, the old one no longer valid.
    writeFileSync(tokenFile, serviceAccountToken('nsr-token-2'));
    kubectl(kubeconfig, [
      ...['delete', 'pod', 'nsr-token-1', '-n', 'nsreport', '--wait'],
      ...['--grace-period=0', '--force'],
    ]);
    // The API server caches a token's authentication for a few seconds: wait until the first
    // token is refused, so that the agent (which read it less than a minute ago) meets a 401.
    await until(
      'the first token is refused',
      () =>
        run('kubectl', ['--kubeconfig', firstOnly, 'get', 'nsr', '-n', 'nsr-lab']).out.match(
          /Unauthorized|must be logged in/i,
        )
          ? true
          : undefined,
      30_000,
    );
    const victim = written[0] ?? '';
    kubectl(kubeconfig, ['delete', 'nsr', victim, '-n', 'nsr-lab', '--wait']);
    await until(
      `the deleted report ${victim} is written again with the new token`,
      () => (reports().includes(victim) ? true : undefined),
      30_000,
    ).catch((e: unknown) => {
      throw new Error(`${String(e)}\n${agent.logs().slice(-3000)}`);
    });
  } finally {
    await agent.stop();
    kubectl(kubeconfig, [
      ...['delete', 'pod', 'nsr-token-1', 'nsr-token-2', 'nsr-agent-token', '-n', 'nsreport'],
      ...['--ignore-not-found', '--grace-period=0', '--force'],
    ]);
  }
});

test('a kubeconfig with an exec credential plugin (through client-node) reads the real API server', () => {
  const token = serviceAccountToken();
  const credential = JSON.stringify({
    apiVersion: 'client.authentication.k8s.io/v1',
    kind: 'ExecCredential',
    status: { token },
  });
  const exec = {
    apiVersion: 'client.authentication.k8s.io/v1',
    command: 'echo',
    args: [credential],
    interactiveMode: 'Never',
  };
  const file = serviceAccountKubeconfig({ exec }, 'exec.kubeconfig');
  const r = nsreport(['audit', '--kubeconfig', file, '-n', 'nsr-lab', '-o', 'json']);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { summary: { reports: number } };
  assert.ok(out.summary.reports > 0, r.stdout.slice(0, 500));
});
