import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  lstatSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { after, before, test } from 'node:test';
import { stringify } from 'yaml';
import type { AuditResult } from '../../src/audit/audit.js';
import type { NamespaceReport } from '../../src/report/types.js';
import { metricValue, until } from '../e2e/agent-process.js';
import {
  assertDescribedContainers,
  findmntPropagation,
  lsnsInodes,
  runcPids,
} from '../e2e/oracles.js';
import { applyObjects, kubectl } from '../lab/kube.js';
import {
  EDGE2_PORT,
  HOST_PORT,
  INFRA_MAPPED_PORT,
  INFRA_NS,
  MAPPED_PORT,
  NS,
  staticPod,
  workloads,
  type Images,
} from './workloads.js';

import { CLUSTER, HELM as helm, KUBELET_NODE, ROOT as root } from '../env.js';
import { nsreport, type CliResult } from '../nsreport.js';
/**
 * nsreport as users run it: the image built from the Dockerfile, installed with helm as a
 * DaemonSet on a node whose pods a real kubelet made (test/cluster/node.sh), next to workloads
 * made through the API, on containerd or CRI-O (the same cases on each). Oracles: runc's own state
 * for PIDs, lsns and findmnt for the kernel's view.
 */
const { kubeconfig } = CLUSTER;
const { name: NODE, socket, imageTar } = KUBELET_NODE;
const images: Images = {
  busybox: KUBELET_NODE.busyboxImage,
  varrun: KUBELET_NODE.varrunImage,
};
const IMAGE = 'localhost/nsreport:e2e';
const ACCEPT_CONTROL_PLANE = {
  finding: 'NSR001',
  namespace: 'kube-system',
  selector: 'tier=control-plane',
  reason: 'control-plane static pods run on the host network',
};
const RESYNC_S = 5;
/** What a user of this runtime sets: the image, and the socket path of this node's runtime. */
function installArgs(...extra: string[]): string[] {
  return [
    ...['--kubeconfig', kubeconfig, '-n', 'nsreport'],
    ...['--set', 'image.repository=localhost/nsreport', '--set', 'image.tag=e2e'],
    ...['--set', `criSocket=${socket}`],
    // This machine's PID 1 is a sandbox supervisor whose namespaces cannot be read: the host
    // reference is another process in the host's namespaces, the kubelet.
    ...['--set', `hostReferencePid=${KUBELET_NODE.kubeletPid}`],
    // Shorter than the default 30s so that "3 resyncs" fit in a test.
    ...['--set', `resync=${RESYNC_S}s`],
    // The admin accepts hostNetwork for the control plane, and lets one namespace's pods accept
    // their own findings.
    ...['--set-json', `acceptedFindings=${JSON.stringify([ACCEPT_CONTROL_PLANE])}`],
    ...['--set-json', `acceptAnnotationsIn=${JSON.stringify([INFRA_NS])}`],
    ...extra,
  ];
}

const k = (...args: string[]): string => kubectl(kubeconfig, args);

interface PodLite {
  metadata: { namespace: string; name: string; uid: string; ownerReferences?: { kind: string }[] };
  spec: { nodeName?: string };
  status: {
    phase: string;
    podIP?: string;
    conditions?: { type: string; status: string }[];
    containerStatuses?: { name: string; restartCount: number; ready: boolean }[];
  };
}

function pods(selector: string[] = ['-A']): PodLite[] {
  return (JSON.parse(k('get', 'pods', ...selector, '-o', 'json')) as { items: PodLite[] }).items;
}

function reports(): Map<string, NamespaceReport> {
  const list = JSON.parse(k('get', 'nsr', '-A', '-o', 'json')) as { items: NamespaceReport[] };
  return new Map(list.items.map((r) => [`${r.metadata.namespace}/${r.metadata.name}`, r]));
}

function agentPod(): PodLite | undefined {
  return pods(['-n', 'nsreport', '-l', 'app.kubernetes.io/name=nsreport']).find((p) =>
    p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
  );
}

async function agentMetrics(p: PodLite): Promise<string> {
  const r = await fetch(`http://${p.status.podIP ?? ''}:9090/metrics`);
  return r.text();
}

const running = (p: PodLite): boolean =>
  p.status.phase === 'Running' && (p.status.containerStatuses ?? []).every((c) => c.ready);

before(() => {
  assert.ok(kubeconfig && NODE && socket && imageTar, 'run through test/e2e/run.sh');
});

after(() => {
  unlinkIfThere(join(KUBELET_NODE.manifests, 'static-web.yaml'));
});

function unlinkIfThere(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}

function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d)) {
      const p = join(d, e);
      const st = lstatSync(p);
      if (st.isDirectory()) walk(p);
      else if (st.isFile()) out.push(`./${relative(dir, p)}`);
    }
  };
  walk(dir);
  return out.sort();
}

test('the image built from the Dockerfile: the app file set, no dev dependencies, its entrypoint and user', () => {
  // Into the node's runtime as an image archive, as an air-gapped node gets one (the pod that
  // runs it is the proof it is there).
  execFileSync('bash', [join(root, 'test/lab/lab.sh'), 'import', KUBELET_NODE.labDir, imageTar], {
    stdio: 'ignore',
  });
  const config = JSON.parse(readFileSync(`${imageTar}.config.json`, 'utf8')) as {
    Entrypoint: string[];
    Cmd: string[];
    User: string;
  };
  assert.deepEqual(config.Entrypoint, [
    '/nodejs/bin/node',
    '--lite-mode',
    '/app/dist/src/cli/main.js',
  ]);
  assert.deepEqual(config.Cmd, ['agent']);
  assert.equal(config.User, '0');
  const inImage = readFileSync(`${imageTar}.files`, 'utf8').trim().split('\n');
  assert.ok(inImage.includes('/nodejs/bin/node'), 'node where the entrypoint says');
  const work = mkdtempSync(join(tmpdir(), 'nsreport-rootfs-'));
  try {
    execFileSync('bash', [join(root, 'scripts/image-rootfs.sh'), work], { stdio: 'ignore' });
    assert.deepEqual(
      inImage.filter((f) => f.startsWith('./')),
      listFiles(join(work, 'app')),
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const dev = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    devDependencies: Record<string, string>;
  };
  // Dev dependencies that no production dependency needs too (protobufjs and client-node need
  // @types/node at run time's install, so it is there).
  const prod = execFileSync('npm', ['ls', '--omit=dev', '--all', '--parseable'], {
    cwd: root,
    encoding: 'utf8',
  });
  const devOnly = Object.keys(dev.devDependencies).filter(
    (name) => !prod.includes(`/node_modules/${name}\n`),
  );
  assert.ok(devOnly.includes('typescript') && devOnly.includes('eslint'));
  for (const name of devOnly)
    assert.ok(!inImage.some((f) => f.startsWith(`./node_modules/${name}/`)), `no ${name}`);
});

test('workloads made through the API and by the kubelet run', async () => {
  applyObjects(kubeconfig, workloads(images));
  writeFileSync(join(KUBELET_NODE.manifests, 'static-web.yaml'), stringify(staticPod(images)));
  await until(
    'every workload pod running (crashy restarted once)',
    () => {
      const all = [NS, 'kube-system', INFRA_NS].flatMap((ns) => pods(['-n', ns]));
      const crashy = all.find((p) => p.metadata.name === 'crashy');
      const restarted = (crashy?.status.containerStatuses?.[0]?.restartCount ?? 0) >= 1;
      const others = all.filter((p) => p.metadata.name !== 'crashy');
      return others.length >= 10 && others.every(running) && restarted ? true : undefined;
    },
    180_000,
  );
});

test('helm install: the DaemonSet pod is Ready under the chart security context and reports every pod of the node', async () => {
  const r = spawnSync(
    helm,
    ['install', 'nsreport', join(root, 'charts/nsreport'), '--create-namespace', ...installArgs()],
    {
      encoding: 'utf8',
    },
  );
  assert.equal(r.status, 0, r.stderr);
  const agent = await until('the agent pod Ready', () => agentPod(), 120_000);
  const spec = JSON.parse(k('get', 'pod', '-n', 'nsreport', agent.metadata.name, '-o', 'json')) as {
    spec: {
      hostPID: boolean;
      containers: {
        image: string;
        securityContext: Record<string, unknown>;
        volumeMounts: { mountPath: string }[];
      }[];
      volumes: { name: string; projected?: unknown; hostPath?: { path: string; type: string } }[];
    };
  };
  assert.equal(spec.spec.hostPID, true);
  const c = spec.spec.containers[0];
  assert.equal(c?.image, IMAGE);
  assert.deepEqual(c?.securityContext.capabilities, {
    drop: ['ALL'],
    add: ['SYS_PTRACE', 'DAC_READ_SEARCH'],
  });
  assert.equal(c?.securityContext.readOnlyRootFilesystem, true);
  assert.ok(
    spec.spec.volumes.some((v) => v.projected !== undefined),
    'the ServiceAccount token volume',
  );
  const hostPaths = spec.spec.volumes.filter((v) => v.hostPath);
  assert.deepEqual(
    hostPaths.map((v) => v.hostPath),
    [{ path: socket.slice(0, socket.lastIndexOf('/')), type: 'Directory' }],
    'the socket directory and nothing else from the host',
  );
  let last = '';
  await until(
    'a report for every pod of the node',
    () => {
      const want = pods()
        .filter((p) => p.spec.nodeName === NODE && p.status.phase === 'Running')
        .map((p) => `${p.metadata.namespace}/${p.metadata.name}`)
        .sort();
      const have = [...reports().keys()].sort();
      last = `want ${want.join(' ')}\nhave ${have.join(' ')}`;
      return want.every((w) => have.includes(w)) && have.every((h) => want.includes(h))
        ? true
        : undefined;
    },
    60_000,
  ).catch((e: unknown) => {
    throw new Error(`${String(e)}\n${last}`);
  });
  const have = [...reports().keys()];
  for (const p of [
    `kube-system/static-web-${NODE}`,
    `${NS}/debianish`,
    `nsreport/${agent.metadata.name}`,
  ])
    assert.ok(have.includes(p), p);
});

test('every report matches the kernel: PIDs from runc, namespaces from lsns, propagation from findmnt', () => {
  const pids = runcPids(KUBELET_NODE.runcRoot);
  let checked = 0;
  for (const r of reports().values()) {
    for (const c of r.report.containers) {
      if (c.state !== 'running') continue;
      // crashy exits every 3 s: its report may be a resync behind the task service (polling).
      if (r.metadata.name === 'crashy' && !pids.has(c.id)) continue;
      assert.equal(c.pid, pids.get(c.id), `${r.metadata.name}/${c.name} pid`);
      const ns = lsnsInodes(c.pid);
      for (const [type, o] of Object.entries(c.namespaces))
        assert.equal(o.inode, ns[type], `${r.metadata.name}/${c.name} ${type}`);
      const fm = findmntPropagation(c.pid);
      for (const m of c.mounts) {
        // The token of an image with /var/run -> /run is mounted at the resolved path.
        const at = fm.get(m.destination) ?? fm.get(m.destination.replace(/^\/var\/run\//, '/run/'));
        assert.equal(
          m.observedPropagation,
          at ?? 'absent',
          `${r.metadata.name}/${c.name} ${m.destination}`,
        );
      }
      checked++;
    }
  }
  assert.ok(checked >= 7, `${checked} containers checked`);
});

test('a plain Deployment pod has no finding; images are the names users wrote', () => {
  const all = [...reports().values()];
  const web = all.find((r) => r.metadata.namespace === NS && r.metadata.name.startsWith('web-'));
  assert.ok(web);
  assert.deepEqual(web.report.findings, []);
  assert.equal(web.metadata.labels['nsreport.dev/severity'], 'none');
  assert.equal(web.report.containers[0]?.image, images.busybox);
  for (const r of all)
    for (const c of r.report.containers)
      assert.doesNotMatch(c.image, /^sha256:/, `${r.metadata.name}/${c.name}`);
  const agent = all.find((r) => r.metadata.namespace === 'nsreport');
  assert.equal(agent?.report.containers[0]?.image, IMAGE);
  const debianish = reports().get(`${NS}/debianish`);
  const token = debianish?.report.containers[0]?.mounts.find((m) =>
    m.destination.startsWith('/var/run/secrets/kubernetes.io/serviceaccount'),
  );
  assert.equal(token?.observedPropagation, 'private', 'found through /var/run -> /run');
  assert.deepEqual(debianish?.report.findings, []);
  // The kubelet's volumes are said by type and name, not by their paths under /var/lib/kubelet.
  const mounts = web.report.containers[0]?.mounts ?? [];
  const said = new Map(mounts.map((m) => [m.destination, m.volume?.type ?? m.source]));
  assert.equal(said.get('/dev/termination-log'), 'termination-log');
  assert.equal(said.get('/etc/hosts'), 'etc-hosts');
  assert.equal(said.get('/var/run/secrets/kubernetes.io/serviceaccount'), 'projected');
  for (const m of mounts)
    assert.ok(m.volume ?? !(m.source ?? '').includes('/pods/'), `${m.destination}: by volume`);
  const stored = kubectl(kubeconfig, [
    ...['get', 'nsr', '-n', NS, web.metadata.name, '-o', 'json', '--show-managed-fields'],
  ]);
  console.log(
    `# a plain Deployment pod's report as etcd holds it: ${Buffer.byteLength(JSON.stringify(JSON.parse(stored)))} bytes`,
  );
});

/** `nsreport audit` against the cluster, as a user runs it. */
function audit(...args: string[]): CliResult {
  return nsreport(['audit', '--kubeconfig', kubeconfig, ...args]);
}

type Finding = NamespaceReport['report']['findings'][number];
const findingIds = (r: NamespaceReport | undefined): string[] =>
  (r?.report.findings ?? []).map((f) => f.id);

test('findings on a kubelet node: root in the host user namespace, /etc/cron.d, a host port, rshared explained, listeners per pod', () => {
  const all = reports();
  const db = all.get(`${NS}/db-0`);
  assert.deepEqual(findingIds(db), ['NSR012'], 'busybox runs as root without a user namespace');
  assert.equal(db?.metadata.labels['nsreport.dev/severity'], 'low');
  const cron = all.get(`${NS}/cron-reader`);
  assert.deepEqual(
    cron?.report.findings.map((f: Finding) => [f.id, f.severity, f.message]),
    [['NSR007', 'medium', '/host/cron.d: sensitive host path /etc/cron.d (read-only)']],
  );
  const mapped = all.get(`${NS}/mapped`);
  assert.deepEqual(
    mapped?.report.findings.map((f: Finding) => [f.id, f.severity, f.container, f.accepted]),
    [['NSR011', 'medium', 'web', undefined]],
    'a pod cannot accept its own finding in a namespace the admin did not list',
  );
  assert.deepEqual(mapped?.report.network.hostPorts, [
    { protocol: 'TCP', containerPort: 8080, hostPort: MAPPED_PORT, hostIp: '', container: 'web' },
  ]);
  assert.match(mapped?.report.warnings?.[0] ?? '', /may not accept findings in namespace "shop"/);
  assert.equal(mapped?.metadata.labels['nsreport.dev/severity'], 'medium');
  // The CSI-like pod: its root is rshared in the spec; nothing beside the Bidirectional mount is
  // NSR005 (runc 1.1 keeps them private; runc ≥ 1.4 makes them shared, which is explained).
  const csi = all.get(`${NS}/csi-node`);
  assert.equal(csi?.report.containers[0]?.rootfsPropagation, 'rshared');
  assert.deepEqual(findingIds(csi), ['NSR004', 'NSR007', 'NSR009']);
  // Two hostNetwork pods with a `server` container each: each has its own listener only.
  const edge = [...all.values()].find(
    (r) => r.metadata.namespace === NS && r.metadata.name.startsWith('edge-'),
  );
  const edge2 = all.get(`${NS}/edge2`);
  const ports = (r: NamespaceReport | undefined): string[] =>
    (r?.report.network.listeners ?? []).map((l) => `${l.container}:${l.port}`);
  assert.deepEqual(ports(edge), [`server:${HOST_PORT}`]);
  assert.deepEqual(ports(edge2), [`server:${EDGE2_PORT}`]);
  assert.ok(!findingIds(edge).includes('NSR011'), 'a hostNetwork hostPort is NSR008, not NSR011');
});

test("accepted findings: the admin's rule and an allowed annotation lower the severity, the report still shows them, --fail-on passes", async () => {
  const all = reports();
  const cp = all.get(`kube-system/static-web-${NODE}`);
  const nsr001 = cp?.report.findings.find((f: Finding) => f.id === 'NSR001');
  assert.deepEqual(nsr001?.accepted, { reason: ACCEPT_CONTROL_PLANE.reason, source: 'config' });
  assert.equal(cp?.metadata.labels['nsreport.dev/severity'], 'low', 'NSR008 on loopback is left');
  assert.equal(cp?.report.summary.accepted, 1);
  const infra = all.get(`${INFRA_NS}/mapped`);
  assert.deepEqual(
    infra?.report.findings.map((f: Finding) => [f.id, f.accepted?.source]),
    [['NSR011', 'annotation']],
  );
  assert.equal(infra?.report.network.hostPorts?.[0]?.hostPort, INFRA_MAPPED_PORT);
  assert.equal(infra?.metadata.labels['nsreport.dev/severity'], 'none');
  assert.equal(infra?.report.warnings, undefined);
  // The chart accepts the agent's own hostPID (acceptOwnFindings): shown, not counted.
  const own = [...all.values()].find((r) => r.metadata.namespace === 'nsreport');
  assert.deepEqual(
    own?.report.findings.map((f: Finding) => [f.id, f.accepted?.source]),
    [['NSR002', 'config']],
  );
  assert.equal(own?.metadata.labels['nsreport.dev/severity'], 'none');

  const gate = audit('-n', 'kube-system', '--fail-on', 'high');
  assert.equal(gate.code, 0, gate.stdout + gate.stderr);
  assert.match(gate.stdout, /accepted: 1$/m);
  const strict = audit('-n', 'kube-system', '--fail-on', 'high', '--include-accepted');
  assert.equal(strict.code, 3, strict.stdout + strict.stderr);
  assert.match(strict.stdout, /NSR001\(accepted\)/);
  const inInfra = audit('-n', INFRA_NS, '--fail-on', 'low', '-o', 'json');
  assert.equal(inInfra.code, 0, inInfra.stderr);
  // The whole node's audit, as a person reads it: fits a 120-column terminal, no kubelet paths.
  const table = audit();
  assert.equal(table.code, 0, table.stderr);
  for (const line of table.stdout.split('\n')) assert.ok(line.length <= 120, line);
  assert.doesNotMatch(table.stdout, /\/pods\/[0-9a-f-]{36}\//);

  const agent = agentPod();
  assert.ok(agent);
  const metrics = await agentMetrics(agent);
  assert.equal(
    metricValue(metrics, 'nsreport_findings_accepted', { id: 'NSR001', source: 'config' }),
    1,
  );
  assert.equal(
    metricValue(metrics, 'nsreport_findings_accepted', { id: 'NSR011', source: 'annotation' }),
    1,
  );
  assert.equal(metricValue(metrics, 'nsreport_findings', { id: 'NSR011' }), 1, 'only shop/mapped');
});

test('describe: a hostNetwork pod, a Bidirectional one, a plain one and a static pod, each as the kernel and runc have it; the nsenter line works as printed', () => {
  const all = reports();
  const edge = [...all.values()].find(
    (r) => r.metadata.namespace === NS && r.metadata.name.startsWith('edge-'),
  );
  const web = [...all.values()].find(
    (r) => r.metadata.namespace === NS && r.metadata.name.startsWith('web-'),
  );
  const pids = runcPids(KUBELET_NODE.runcRoot);
  const host = lsnsInodes(Number(KUBELET_NODE.kubeletPid));
  const cases: [string, RegExp[]][] = [
    [
      `${edge?.metadata.namespace ?? ''}/${edge?.metadata.name ?? ''}`,
      [
        new RegExp(
          `network: +yes: the node's own network namespace; also the host's for [^\\n]*${NS}/edge2`,
        ),
        /from outside the node, on the node's addresses/,
      ],
    ],
    [
      `${NS}/csi-node`,
      [
        /Bidirectional +shared +a mount made on the host appears here, and one made here reaches the host/,
        /NSR004 \(plugin\): \/var\/lib\/kubelet\/plugins: Bidirectional/,
        /Privileged: +yes/,
      ],
    ],
    [
      `${web?.metadata.namespace ?? ''}/${web?.metadata.name ?? ''}`,
      [/network: +no\n/, /Findings: +none/],
    ],
    [
      `kube-system/static-web-${NODE}`,
      [/network: +yes/, /accepted \(config\): control-plane static pods/],
    ],
  ];
  for (const [ref, facts] of cases) {
    const r = nsreport(['describe', ref, '--kubeconfig', kubeconfig]);
    assert.equal(r.code, 0, `${ref}: ${r.stderr}`);
    assert.match(
      r.stdout,
      /Source: +the NamespaceReport on https:[^;]*; it agrees with its Pod/,
      ref,
    );
    for (const f of facts) assert.match(r.stdout, f, ref);
    const report = all.get(ref);
    assert.ok(report, ref);
    // Its host PID is the one runc started; each namespace is lsns's, the host's when lsns says so.
    const running = report.report.containers.filter((x) => x.state === 'running');
    assertDescribedContainers(r.stdout, running, pids, host, ref);
    // The command to paste, run as printed: the container's network namespace's interfaces.
    const line = /^ {2}(nsenter -t \d+ -n ip -br addr)\s+#/m.exec(r.stdout)?.[1];
    assert.ok(line, `${ref}: no nsenter line`);
    const out = execFileSync('sh', ['-c', line], { encoding: 'utf8' });
    assert.match(out, /^lo +UNKNOWN/m, `${ref}: ${line}`);
  }
  const missing = nsreport(['describe', `${NS}/no-such-pod`, '--kubeconfig', kubeconfig]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /no NamespaceReport shop\/no-such-pod on https:/);
});

test("a namespace viewer reads its pods' reports (the chart's role aggregated into view), nothing more", async () => {
  applyObjects(kubeconfig, [
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'alice-view', namespace: NS },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'alice' }],
    },
  ]);
  const can = (verb: string, ns: string): string =>
    spawnSync(
      'kubectl',
      [
        ...['--kubeconfig', kubeconfig, 'auth', 'can-i', verb],
        ...['namespacereports.nsreport.dev', '-n', ns, '--as', 'alice'],
      ],
      { encoding: 'utf8' },
    ).stdout.trim();
  // The clusterrole-aggregation controller adds the chart's rules to view.
  await until(
    "view to aggregate the chart's role",
    () => (can('list', NS) === 'yes' ? true : undefined),
    30_000,
  );
  assert.equal(can('get', NS), 'yes');
  assert.equal(can('watch', NS), 'yes');
  assert.equal(can('delete', NS), 'no');
  assert.equal(can('patch', NS), 'no');
  assert.equal(can('list', 'kube-system'), 'no');
  const list = k('get', 'nsr', '-n', NS, '--as', 'alice', '-o', 'name');
  assert.match(list, /namespacereport\.nsreport\.dev\/web-/);
});

test('kubectl nsreport version: the client, then the agents the cluster runs', () => {
  const r = nsreport(['version', '--kubeconfig', kubeconfig]);
  assert.equal(r.code, 0, r.stderr);
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  assert.equal(
    r.stdout,
    `nsreport ${pkg.version}\nagent nsreport/nsreport: ${pkg.version} (image ${IMAGE}), 1 of 1 ready\n`,
  );
});

test("audit coverage knows the DaemonSet's scope: a Windows node's pod is not a missing report", () => {
  // A Node object no kubelet runs (Windows, outside the chart's nodeSelector) with a pod bound.
  applyObjects(kubeconfig, [
    {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'win-node', labels: { 'kubernetes.io/os': 'windows' } },
    },
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'iis', namespace: NS },
      spec: {
        nodeName: 'win-node',
        hostNetwork: true,
        containers: [{ name: 'iis', image: 'mcr.microsoft.com/windows/servercore/iis' }],
      },
    },
  ]);
  try {
    const r = audit();
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /^Coverage: agents expected on DaemonSet nsreport\/nsreport \(nodeSelector kubernetes\.io\/os=linux; tolerates every taint\)$/m,
    );
    assert.match(r.stdout, /^ {2}nodes outside that scope \(not counted\): win-node$/m);
    assert.match(r.stdout, /^ {2}nodes with pods but no reports: none$/m);
    assert.match(r.stdout, /^ {2}hostNetwork pods without a report: none$/m);
  } finally {
    k('delete', 'pod', '-n', NS, 'iis', '--grace-period=0', '--force', '--wait=false');
    k('delete', 'node', 'win-node', '--wait=false');
  }
});

test("the static pod's report is owned by the Node, survives 3 resyncs with the garbage collector, and goes with its manifest", async () => {
  const key = `kube-system/static-web-${NODE}`;
  const first = reports().get(key);
  assert.ok(first);
  const node = JSON.parse(k('get', 'node', NODE, '-o', 'json')) as { metadata: { uid: string } };
  assert.deepEqual(
    first.metadata.ownerReferences?.map((o) => [o.kind, o.uid]),
    [['Node', node.metadata.uid]],
  );
  await new Promise((r) => setTimeout(r, (RESYNC_S * 3 + 2) * 1000));
  const uid = (r: NamespaceReport | undefined): unknown => (r?.metadata as { uid?: string }).uid;
  assert.equal(uid(reports().get(key)), uid(first), 'the same object: never collected');
  unlinkIfThere(join(KUBELET_NODE.manifests, 'static-web.yaml'));
  await until(
    'the static pod report to go',
    () => (reports().has(key) ? undefined : true),
    120_000,
  );
});

test(`${KUBELET_NODE.runtime} restarts under the running DaemonSet pod: reports resume with no manual step`, async () => {
  const before = agentPod();
  assert.ok(before);
  const labDir = KUBELET_NODE.labDir;
  execFileSync('bash', [join(root, 'test/lab/lab.sh'), 'stop-runtime', labDir]);
  execFileSync('bash', [join(root, 'test/lab/lab.sh'), 'start-runtime', labDir]);
  k('scale', '-n', NS, 'deployment/web', '--replicas=2');
  await until(
    'the new web pod reported',
    () => {
      const webs = [...reports().keys()].filter((n) => n.startsWith(`${NS}/web-`));
      return webs.length === 2 ? true : undefined;
    },
    180_000,
  );
});

test('churn: a Deployment scaled up and down by 20 pods, 5 times: no report left, none missing, writes per pod bounded', async () => {
  const agent = agentPod();
  assert.ok(agent);
  const writes = async (): Promise<number> =>
    metricValue(await agentMetrics(agent), 'nsreport_report_writes_total', { result: 'ok' });
  const w0 = await writes();
  const webs = (): string[] =>
    [...reports().keys()].filter((n) => n.startsWith(`${NS}/web-`)).sort();
  const webPods = (): string[] =>
    pods(['-n', NS, '-l', 'app=web'])
      .filter(running)
      .map((p) => `${NS}/${p.metadata.name}`)
      .sort();
  const ROUNDS = 5;
  const SCALE = 20;
  const before = webPods().length;
  for (let i = 0; i < ROUNDS; i++) {
    k('scale', '-n', NS, 'deployment/web', `--replicas=${SCALE}`);
    await until(
      `round ${i}: ${SCALE} web pods running and reported`,
      () => {
        const running = webPods();
        return running.length === SCALE && running.join() === webs().join() ? true : undefined;
      },
      240_000,
    );
    k('scale', '-n', NS, 'deployment/web', `--replicas=${before}`);
    await until(
      `round ${i}: back to ${before}, their reports only`,
      () => {
        const have = webs();
        return have.length === before && have.join() === webPods().join() ? true : undefined;
      },
      240_000,
    );
  }
  const lifecycles = ROUNDS * (SCALE - before);
  const perPod = ((await writes()) - w0) / lifecycles;
  process.stdout.write(
    `# churn: ${lifecycles} pod lifecycles, ${perPod.toFixed(2)} API writes each\n`,
  );
  // Created (not ready), ready with its container, perhaps a network re-read, deleted.
  assert.ok(perPod <= 6, `${perPod} writes per pod lifecycle`);
});

test('lifecycle: a StatefulSet pod follows its new UID, a deleted Deployment takes its reports, a new agent rewrites nothing', async () => {
  const dbOld = reports().get(`${NS}/db-0`);
  assert.ok(dbOld);
  k('delete', 'pod', '-n', NS, 'db-0', '--wait=false');
  await until(
    'db-0 reported with its new UID',
    () => {
      const r = reports().get(`${NS}/db-0`);
      const pod = pods(['-n', NS]).find((p) => p.metadata.name === 'db-0');
      return r &&
        pod &&
        r.report.pod.uid === pod.metadata.uid &&
        pod.metadata.uid !== dbOld.report.pod.uid
        ? true
        : undefined;
    },
    120_000,
  );
  k('delete', 'deployment', '-n', NS, 'web', '--wait=false');
  await until(
    'the Deployment pods reports to go',
    () => ([...reports().keys()].some((n) => n.startsWith(`${NS}/web-`)) ? undefined : true),
    120_000,
  );
  const old = agentPod();
  assert.ok(old);
  const before = reports();
  k('delete', 'pod', '-n', 'nsreport', old.metadata.name, '--wait=false');
  const fresh = await until(
    'a new agent pod Ready',
    () => {
      const p = agentPod();
      return p && p.metadata.name !== old.metadata.name ? p : undefined;
    },
    120_000,
  );
  await new Promise((r) => setTimeout(r, RESYNC_S * 2 * 1000));
  const m = await agentMetrics(fresh);
  assert.ok(metricValue(m, 'nsreport_scans_total', { result: 'ok' }) >= 2);
  // Its own report is new (a new pod), and the old agent's report goes: nothing else is written.
  assert.ok(
    metricValue(m, 'nsreport_report_writes_total', { operation: 'apply' }) <= 1,
    `the new agent rewrote reports:\n${changedReports(before, reports()).join('\n')}`,
  );
});

/** What differs between two listings of the reports: a line per report, the paths that changed. */
function changedReports(
  before: Map<string, NamespaceReport>,
  after: Map<string, NamespaceReport>,
): string[] {
  const out: string[] = [];
  for (const [name, r] of after) {
    const was = before.get(name);
    if (!was) out.push(`${name}: new`);
    else if (version(was) !== version(r))
      out.push(`${name}: ${differences(was, r).slice(0, 12).join(', ')}`);
  }
  for (const name of before.keys()) if (!after.has(name)) out.push(`${name}: gone`);
  return out;
}

function version(r: NamespaceReport): unknown {
  return (r.metadata as { resourceVersion?: string }).resourceVersion;
}

function differences(a: unknown, b: unknown, path = ''): string[] {
  if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object') {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    keys.delete('managedFields');
    return [...keys].flatMap((key) =>
      differences(
        (a as Record<string, unknown>)[key],
        (b as Record<string, unknown>)[key],
        `${path}.${key}`,
      ),
    );
  }
  return a === b ? [] : [`${path || '.'} ${JSON.stringify(a)} → ${JSON.stringify(b)}`];
}

/** The host's namespace inode of a type, through the host reference (the kubelet). */
function hostNsInode(type: string): number {
  return Number(/\[(\d+)\]/.exec(readlinkSync(`/proc/${KUBELET_NODE.kubeletPid}/ns/${type}`))?.[1]);
}

const UNSHARED_PORT = 39231;
const SLEEP_CMD = ['/bin/sleep', 'infinity'];

test("hostile pods: a child nsenter-ed into the host is NSR013 within a scan, by its pid; a hostNetwork listener that unshared its mounts stays its container's", async () => {
  const pid = KUBELET_NODE.kubeletPid;
  applyObjects(kubeconfig, [
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'escaper', namespace: NS },
      spec: {
        hostPID: true,
        containers: [
          {
            name: 'app',
            image: images.busybox,
            securityContext: { privileged: true },
            // The child enters the node's mount, network, UTS and IPC namespaces; the host's
            // /bin/busybox runs there.
            command: [
              '/bin/sh',
              '-c',
              `/bin/busybox nsenter -t ${pid} -m -n -u -i /bin/busybox sleep 3600 & exec /bin/sleep infinity`,
            ],
          },
        ],
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'unsharer', namespace: NS },
      spec: {
        hostNetwork: true,
        containers: [
          {
            name: 'server',
            image: images.busybox,
            securityContext: { capabilities: { add: ['SYS_ADMIN'] } },
            command: ['/bin/unshare', '-m', '/bin/httpd', '-f', '-p', String(UNSHARED_PORT)],
          },
        ],
      },
    },
  ]);
  try {
    const escaped = await until(
      "NSR013 in the escaper's report",
      () =>
        reports()
          .get(`${NS}/escaper`)
          ?.report.findings.find((f) => f.id === 'NSR013'),
      90_000,
    );
    const r = reports().get(`${NS}/escaper`);
    const list = r?.report.containers[0]?.escaped ?? [];
    const escapee = list[0]?.pid ?? 0;
    assert.ok(escapee > 0, JSON.stringify(r?.report.containers[0]));
    const comm = readFileSync(`/proc/${escapee}/comm`, 'utf8').trim();
    assert.equal(list[0]?.comm, comm);
    assert.match(
      escaped.message,
      new RegExp(`^process ${escapee} \\(${comm}\\) is in the host's `),
    );
    assert.equal(escaped.severity, 'critical');
    // The kernel says the same: that process is in the host's mount and network namespaces.
    for (const type of ['mnt', 'net'] as const) {
      const inode = Number(/\[(\d+)\]/.exec(readlinkSync(`/proc/${escapee}/ns/${type}`))?.[1]);
      assert.equal(inode, hostNsInode(type), type);
      assert.ok(
        list.some((e) => e.namespace === type && e.into === 'host'),
        type,
      );
    }
    assert.equal(r?.metadata.labels['nsreport.dev/severity'], 'critical');
    const listener = await until(
      "the unsharer's listener in its report",
      () =>
        reports()
          .get(`${NS}/unsharer`)
          ?.report.network.listeners.find((l) => l.port === UNSHARED_PORT),
      90_000,
    );
    assert.equal(listener.container, 'server');
    const u = reports().get(`${NS}/unsharer`);
    assert.ok(u?.report.findings.some((f) => f.id === 'NSR008' && f.container === 'server'));
    // Its listener process made a mount namespace of its own: nobody else's, not an escape.
    assert.ok(!u?.report.findings.some((f) => f.id === 'NSR013'));
  } finally {
    k(
      'delete',
      'pod',
      '-n',
      NS,
      'escaper',
      'unsharer',
      '--grace-period=0',
      '--force',
      '--wait=false',
    );
  }
});

test('a volume that never answers (a FUSE server that reads no request) freezes nothing: a new agent gets Ready and keeps scanning', async () => {
  const work = mkdtempSync(join(tmpdir(), 'nsreport-fuse-'));
  const host = join(work, 'shared');
  const bin = join(work, 'fuse-hang');
  execFileSync('gcc', ['-O2', '-o', bin, join(root, 'test/hang/fuse-hang.c')]);
  execFileSync('mkdir', ['-p', host]);
  // A shared host directory, so that what is mounted in it later reaches the container
  // (HostToContainer).
  execFileSync('mount', ['--bind', host, host]);
  execFileSync('mount', ['--make-shared', host]);
  let fuse: ReturnType<typeof spawn> | null = null;
  try {
    applyObjects(kubeconfig, [
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'hung-volume', namespace: NS },
        spec: {
          containers: [
            {
              name: 'app',
              image: images.busybox,
              command: SLEEP_CMD,
              volumeMounts: [
                { name: 'data', mountPath: '/data', mountPropagation: 'HostToContainer' },
                { name: 'inner', mountPath: '/data/hang/inner' },
              ],
            },
          ],
          volumes: [
            { name: 'data', hostPath: { path: host } },
            { name: 'inner', emptyDir: {} },
          ],
        },
      },
    ]);
    await until(
      'the hung-volume pod reported',
      () =>
        reports().get(`${NS}/hung-volume`)?.report.containers[0]?.state === 'running'
          ? true
          : undefined,
      120_000,
    );
    // Now a FUSE file system that answers nothing is mounted over /data/hang: a lookup of
    // /data/hang/inner in the container blocks until the server exits.
    const f = spawn(bin, [join(host, 'hang')], { stdio: ['ignore', 'pipe', 'inherit'] });
    fuse = f;
    await new Promise<void>((res, rej) => {
      f.stdout?.once('data', () => {
        res();
      });
      f.once('exit', (code) => {
        rej(new Error(`fuse-hang exited ${code}`));
      });
    });
    const probe = spawnSync('timeout', ['2', 'ls', join(host, 'hang', 'inner')]);
    assert.equal(probe.status, 124, 'the FUSE mount does not answer');
    // A new agent resolves every pod's mount destinations afresh.
    const old = agentPod();
    assert.ok(old);
    k('delete', 'pod', '-n', 'nsreport', old.metadata.name, '--wait=false');
    const fresh = await until(
      'a new agent pod Ready',
      () => {
        const p = agentPod();
        return p && p.metadata.name !== old.metadata.name ? p : undefined;
      },
      120_000,
    );
    const scans = async (): Promise<number> =>
      metricValue(await agentMetrics(fresh), 'nsreport_scans_total', { result: 'ok' });
    const first = await scans();
    await new Promise((r) => setTimeout(r, (RESYNC_S + 1) * 1000));
    assert.ok((await scans()) > first, 'still scanning');
    const t0 = Date.now();
    const health = await fetch(`http://${fresh.status.podIP ?? ''}:9090/healthz`);
    assert.equal(health.status, 200);
    assert.ok(Date.now() - t0 < 1000, 'answers at once');
    const r = reports().get(`${NS}/hung-volume`);
    const inner = r?.report.containers[0]?.mounts.find((m) => m.destination === '/data/hang/inner');
    assert.ok(inner, JSON.stringify(r?.report.containers[0]));
  } finally {
    fuse?.kill('SIGTERM');
    await new Promise((res) => setTimeout(res, 500));
    spawnSync('umount', ['-l', join(host, 'hang')]);
    k('delete', 'pod', '-n', NS, 'hung-volume', '--grace-period=0', '--force', '--wait=false');
    await until(
      'the hung-volume pod gone from the node',
      () => (pods(['-n', NS]).some((p) => p.metadata.name === 'hung-volume') ? undefined : true),
      120_000,
    ).catch(() => undefined);
    spawnSync('umount', ['-l', host]);
    rmSync(work, { recursive: true, force: true });
  }
});

/** A node that runs no agent (only an API object), and a Pod of the agent's on it. */
const OTHER_NODE = 'nsr-other-node';
const OTHER_AGENT_POD = 'nsr-agent-elsewhere';

/** A kubeconfig for a token: the admin's cluster entry, that user. */
function tokenKubeconfig(token: string): string {
  const admin = JSON.parse(k('config', 'view', '--raw', '-o', 'json')) as {
    clusters: { cluster: object }[];
  };
  const file = join(mkdtempSync(join(tmpdir(), 'nsreport-token-')), 'kubeconfig');
  writeFileSync(
    file,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'c', cluster: admin.clusters[0]?.cluster }],
      users: [{ name: 'u', user: { token } }],
      contexts: [{ name: 'c', context: { cluster: 'c', user: 'u' } }],
      'current-context': 'c',
    }),
  );
  return file;
}

function removeOtherNode(): void {
  spawnSync('kubectl', [
    ...['--kubeconfig', kubeconfig, 'delete', 'pod', '-n', 'nsreport', OTHER_AGENT_POD],
    ...['--grace-period=0', '--force', '--ignore-not-found'],
  ]);
  spawnSync('kubectl', [
    '--kubeconfig',
    kubeconfig,
    'delete',
    'node',
    OTHER_NODE,
    '--ignore-not-found',
  ]);
}

test("trust: another node's agent token is refused every write of this node's reports by the API server; the DaemonSet pod's own token writes all it needs", async () => {
  // What a compromised node holds: a token of the agent's ServiceAccount bound to a pod there.
  applyObjects(kubeconfig, [
    { apiVersion: 'v1', kind: 'Node', metadata: { name: OTHER_NODE } },
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: OTHER_AGENT_POD, namespace: 'nsreport' },
      spec: {
        nodeName: OTHER_NODE,
        serviceAccountName: 'nsreport',
        tolerations: [{ operator: 'Exists' }],
        containers: [{ name: 'agent', image: IMAGE }],
      },
    },
  ]);
  // A token is a credential: its kubeconfig goes with the test.
  let elsewhere = '';
  try {
    const token = k(
      ...['create', 'token', 'nsreport', '-n', 'nsreport', '--duration=10m'],
      ...['--bound-object-kind', 'Pod', '--bound-object-name', OTHER_AGENT_POD],
    ).trim();
    elsewhere = tokenKubeconfig(token);
    const as = (input: string | null, ...args: string[]): { code: number | null; err: string } => {
      const r = spawnSync('kubectl', ['--kubeconfig', elsewhere, ...args], {
        encoding: 'utf8',
        ...(input !== null ? { input } : {}),
      });
      return { code: r.status, err: r.stderr };
    };
    const whoami = spawnSync(
      'kubectl',
      ['--kubeconfig', elsewhere, 'auth', 'whoami', '-o', 'json'],
      {
        encoding: 'utf8',
      },
    );
    assert.match(
      whoami.stdout,
      new RegExp(`"authentication.kubernetes.io/node-name":\\s*\\[\\s*"${OTHER_NODE}"`),
    );
    const before = reports().get(`${NS}/edge2`);
    assert.ok(before);
    const refused = new RegExp(
      `ValidatingAdmissionPolicy 'nsreport-node-binding'.*the agent of node ${OTHER_NODE} may write only that node's reports`,
    );
    // Create one for this node, patch one of this node, move one to the other node, delete one.
    const forged = {
      apiVersion: before.apiVersion,
      kind: before.kind,
      metadata: { name: 'edge3', namespace: NS, labels: before.metadata.labels },
      report: before.report,
    };
    const attempts = {
      create: as(JSON.stringify(forged), 'create', '-f', '-'),
      patch: as(
        null,
        'patch',
        'nsr',
        '-n',
        NS,
        'edge2',
        '--type',
        'merge',
        '-p',
        '{"report":{"findings":[]}}',
      ),
      relabel: as(
        null,
        'label',
        'nsr',
        '-n',
        NS,
        'edge2',
        `nsreport.dev/node=${OTHER_NODE}`,
        '--overwrite',
      ),
      delete: as(null, 'delete', 'nsr', '-n', NS, 'edge2'),
    };
    for (const [what, r] of Object.entries(attempts)) {
      assert.notEqual(r.code, 0, what);
      // A move is refused by both policies; the API server says whichever it ran first.
      if (what === 'relabel')
        assert.match(r.err, new RegExp(`${refused.source}|nsreport-node-immutable`), what);
      else assert.match(r.err, refused, what);
    }
    const after = reports().get(`${NS}/edge2`);
    assert.equal(
      (after?.metadata as { resourceVersion?: string }).resourceVersion,
      (before.metadata as { resourceVersion?: string }).resourceVersion,
      'untouched',
    );
    // The same ServiceAccount's token on the DaemonSet pod (bound to this node) writes every
    // report it needs: nothing it wrote in this whole suite was refused.
    const agent = agentPod();
    assert.ok(agent);
    const m = await agentMetrics(agent);
    assert.equal(metricValue(m, 'nsreport_report_writes_total', { result: 'denied' }), 0, m);
    assert.ok(metricValue(m, 'nsreport_report_writes_total', { result: 'ok' }) >= 1);
  } finally {
    if (elsewhere) rmSync(dirname(elsewhere), { recursive: true, force: true });
    removeOtherNode();
  }
});

test("forged reports: a body edit is undone; a move to another node is refused; a report squatted as another node's is flagged by the agent and the audit, and written again once deleted", async () => {
  const agent = agentPod();
  assert.ok(agent);
  const edge2 = (): NamespaceReport | undefined => reports().get(`${NS}/edge2`);
  const honest = edge2();
  assert.ok(honest && honest.report.findings.length > 0);
  // 1. A cluster-admin empties the findings and lowers the labels: the agent writes it back.
  const t0 = Date.now();
  k(
    ...['patch', 'nsr', '-n', NS, 'edge2', '--type', 'merge', '-p'],
    JSON.stringify({
      metadata: {
        labels: { 'nsreport.dev/host-network': 'false', 'nsreport.dev/severity': 'none' },
      },
      report: {
        findings: [],
        summary: { ...honest.report.summary, findings: 0, highestSeverity: 'none' },
      },
    }),
  );
  await until(
    'the edited report written back',
    () =>
      JSON.stringify(edge2()?.report.findings) === JSON.stringify(honest.report.findings) &&
      edge2()?.metadata.labels['nsreport.dev/host-network'] === 'true'
        ? true
        : undefined,
    10_000,
  );
  process.stdout.write(`# a forged body written back in ${Date.now() - t0} ms\n`);
  // 2. Moving a report to another node is refused, whoever asks: no agent could undo it.
  const move = spawnSync(
    'kubectl',
    [
      '--kubeconfig',
      kubeconfig,
      'label',
      'nsr',
      '-n',
      NS,
      'edge2',
      `nsreport.dev/node=${OTHER_NODE}`,
      '--overwrite',
    ],
    { encoding: 'utf8' },
  );
  assert.notEqual(move.status, 0);
  assert.match(move.stderr, /nsreport-node-immutable.*the node of a NamespaceReport cannot change/);
  // 3. A report made for a new hostNetwork pod before its agent writes one, as another node's,
  //    saying it does not share the host network and has no findings (what a compromised node
  //    or an admin could do): the agent may not overwrite it (the policy), and says so.
  const squat = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'squatted', namespace: NS },
    spec: {
      nodeName: NODE,
      hostNetwork: true,
      containers: [{ name: 'app', image: images.busybox, command: ['/bin/sleep', 'infinity'] }],
    },
  };
  const [made] = applyObjects(kubeconfig, [squat]);
  assert.ok(made);
  const labels = {
    ...honest.metadata.labels,
    'nsreport.dev/node': OTHER_NODE,
    'nsreport.dev/host-network': 'false',
    'nsreport.dev/severity': 'none',
  };
  const body = {
    ...honest.report,
    node: OTHER_NODE,
    pod: { uid: made.metadata.uid },
    declared: { ...honest.report.declared, network: 'POD' },
    hostNamespaces: { ...honest.report.hostNamespaces, network: 'false' },
    network: { ...honest.report.network, listeners: [] },
    findings: [],
    summary: { ...honest.report.summary, findings: 0, highestSeverity: 'none' },
  };
  const fake = {
    apiVersion: honest.apiVersion,
    kind: honest.kind,
    metadata: { name: 'squatted', namespace: NS, labels },
    report: body,
  };
  // An orphan: a report of another node for a Pod that does not exist.
  const orphan = { ...fake, metadata: { ...fake.metadata, name: 'long-gone' } };
  kubectl(kubeconfig, ['create', '-f', '-'], JSON.stringify(fake));
  kubectl(kubeconfig, ['create', '-f', '-'], JSON.stringify(orphan));
  try {
    await until(
      'the agent counts a report of its pod held by another node, and its refused write',
      async () => {
        const m = await agentMetrics(agent);
        return metricValue(m, 'nsreport_report_conflicts_total', {
          reason: 'held-by-other-node',
        }) >= 1 && metricValue(m, 'nsreport_report_writes_total', { result: 'denied' }) >= 1
          ? true
          : undefined;
      },
      60_000,
    );
    const logs = k('logs', '-n', 'nsreport', agent.metadata.name);
    assert.match(logs, /report of a pod bound to this node claims another node/);
    assert.match(logs, /admission policy refused this report write/);
    // The audit holds every report against its Pod.
    const r = audit('-o', 'json');
    assert.equal(r.code, 0, r.stderr);
    const result = JSON.parse(r.stdout) as AuditResult;
    const rows = new Map(
      result.nodes.flatMap((n) =>
        n.pods.map((p) => [`${p.namespace}/${p.name}`, { ...p, shownOn: n.name }]),
      ),
    );
    const s = rows.get(`${NS}/squatted`);
    assert.equal(s?.shownOn, NODE, 'shown on the node its Pod is bound to');
    assert.deepEqual(s?.integrity?.map((i) => i.check).sort(), ['host-network', 'node']);
    assert.equal(s?.severity, 'critical');
    assert.equal(s?.hostNetwork, true, 'hostNetwork by its Pod spec');
    assert.deepEqual(
      rows.get(`${NS}/long-gone`)?.integrity?.map((i) => i.check),
      ['pod'],
    );
    assert.deepEqual(result.coverage.reportsWithoutPod, [
      { namespace: NS, name: 'long-gone', node: OTHER_NODE },
    ]);
    assert.ok(!result.coverage.nodesWithoutReports.includes(NODE));
    const table = audit();
    assert.match(
      table.stdout,
      new RegExp(
        `^  ${NS}/squatted: says node ${OTHER_NODE}; the Pod is bound to ${NODE} \\(critical\\)$`,
        'm',
      ),
    );
    assert.equal(audit('--fail-on', 'critical').code, 3);
    assert.equal(
      audit('--fail-on', 'critical', '--host-network', '--finding', 'NSR012').code,
      3,
      'whatever the filters',
    );
    // Deleted, the squatted report is the agent's to write.
    k('delete', 'nsr', '-n', NS, 'squatted');
    const t1 = Date.now();
    await until(
      "the squatted pod's report written by its agent",
      () => {
        const mine = reports().get(`${NS}/squatted`);
        return mine?.report.node === NODE &&
          mine.metadata.labels['nsreport.dev/host-network'] === 'true'
          ? true
          : undefined;
      },
      60_000,
    );
    process.stdout.write(
      `# the squatted report written by its agent ${Date.now() - t1} ms after its deletion\n`,
    );
  } finally {
    spawnSync('kubectl', [
      ...['--kubeconfig', kubeconfig, 'delete', 'pod', '-n', NS, 'squatted'],
      ...['--grace-period=0', '--force', '--ignore-not-found'],
    ]);
    spawnSync('kubectl', [
      '--kubeconfig',
      kubeconfig,
      'delete',
      'nsr',
      '-n',
      NS,
      'long-gone',
      '--ignore-not-found',
    ]);
  }
});

test('helm upgrade with a changed value rolls the DaemonSet; helm uninstall removes the agent and leaves the reports', async () => {
  const old = agentPod();
  assert.ok(old);
  const up = spawnSync(
    helm,
    [
      'upgrade',
      'nsreport',
      join(root, 'charts/nsreport'),
      ...installArgs('--set', 'logLevel=debug'),
    ],
    {
      encoding: 'utf8',
    },
  );
  assert.equal(up.status, 0, up.stderr);
  await until(
    'the DaemonSet rolled',
    () => {
      const p = agentPod();
      return p && p.metadata.name !== old.metadata.name ? true : undefined;
    },
    120_000,
  );
  const count = reports().size;
  const un = spawnSync(
    helm,
    ['uninstall', 'nsreport', '--kubeconfig', kubeconfig, '-n', 'nsreport', '--wait'],
    {
      encoding: 'utf8',
    },
  );
  assert.equal(un.status, 0, un.stderr);
  await until(
    'the agent gone',
    () => (pods(['-n', 'nsreport']).length === 0 ? true : undefined),
    120_000,
  );
  assert.match(k('get', 'crd', 'namespacereports.nsreport.dev', '-o', 'name'), /namespacereports/);
  // The reports stay (helm does not delete CRDs or their objects): all but the agent's own, which
  // the garbage collector takes with its Pod.
  await until(
    'the agent pod report collected',
    () => (reports().size === count - 1 ? true : undefined),
    60_000,
  );
});
