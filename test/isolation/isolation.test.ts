import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { AuditResult } from '../../src/audit/audit.js';
import type { NamespaceReport, ReportContainer } from '../../src/report/types.js';
import { until } from '../e2e/agent-process.js';
import { applyObjects, kubectl } from '../lab/kube.js';
import { CLUSTER, KUBELET_NODE, ROOT } from '../env.js';
import { nsreport } from '../nsreport.js';
import { reportLookup } from '../reports.js';

/**
 * The newer isolation features on a kubelet-made node whose runtime can give them (containerd
 * 2.2 on runc 1.5, test/cluster/node.sh with NSREPORT_NODE_RUNTIME=containerd2; a second
 * RuntimeClass `debrunc` on Debian's runc 1.1, without user namespaces): pods ask for them as
 * users do, and what nsreport reports is held against the kernel, read here without it.
 */
const { kubeconfig } = CLUSTER;
const NS = 'nsr-iso';
let host: string;
let reports: Map<string, NamespaceReport>;

const k = (args: string[], input?: string): string => kubectl(kubeconfig, args, input);

function sh(cmd: string, args: string[]): { code: number | null; out: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

const { report, container } = reportLookup(() => reports);

const ids = (name: string): string[] => report(name).report.findings.map((f) => f.id);

/** The kernel's own words: a /proc file of the container's first process. */
const proc = (c: ReportContainer, file: string): string =>
  readFileSync(`/proc/${c.pid}/${file}`, 'utf8');

/** Whether a path takes a write in the container's mount namespace (nsenter, as the host's root). */
function canWrite(c: ReportContainer, path: string): boolean {
  return sh('nsenter', ['-t', String(c.pid), '-m', 'touch', path]).code === 0;
}

function pod(
  name: string,
  o: {
    spec?: object;
    container?: object;
    image?: string;
    volumes?: object[];
    mounts?: object[];
  } = {},
): object {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: NS },
    spec: {
      nodeName: KUBELET_NODE.name,
      terminationGracePeriodSeconds: 0,
      automountServiceAccountToken: false,
      ...o.spec,
      volumes: o.volumes ?? [],
      containers: [
        {
          name: 'app',
          image: o.image ?? KUBELET_NODE.busyboxImage,
          imagePullPolicy: 'Never',
          command: ['/bin/sleep', 'infinity'],
          volumeMounts: o.mounts ?? [],
          ...o.container,
        },
      ],
    },
  };
}

before(async () => {
  assert.ok(kubeconfig && KUBELET_NODE.socket, 'run through test/e2e/run.sh (phase 3)');
  // A host directory with a tmpfs below it: what recursive read-only is about.
  host = mkdtempSync('/tmp/nsreport-iso-');
  mkdirSync(join(host, 'sub'));
  assert.equal(sh('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'nsr-iso', join(host, 'sub')]).code, 0);
  k(['apply', '-f', join(ROOT, 'manifests', 'crd.yaml')]);
  const hostPath = [{ name: 'h', hostPath: { path: host, type: 'Directory' } }];
  const ro = (recursiveReadOnly?: string) => [
    {
      name: 'h',
      mountPath: '/h',
      readOnly: true,
      ...(recursiveReadOnly ? { recursiveReadOnly } : {}),
    },
  ];
  applyObjects(kubeconfig, [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } },
    pod('plain'),
    pod('userns', {
      spec: { hostUsers: false },
      volumes: [{ name: 'e', emptyDir: {} }, ...hostPath],
      mounts: [
        { name: 'e', mountPath: '/e' },
        { name: 'h', mountPath: '/h' },
      ],
    }),
    pod('rro-enabled', { volumes: hostPath, mounts: ro('Enabled') }),
    pod('rro-off', { volumes: hostPath, mounts: ro() }),
    pod('unmasked', {
      spec: { hostUsers: false },
      container: { securityContext: { procMount: 'Unmasked' } },
    }),
    pod('groups', {
      image: KUBELET_NODE.groupsImage,
      spec: {
        securityContext: {
          runAsUser: 1000,
          runAsGroup: 1000,
          supplementalGroups: [3000],
          fsGroup: 4000,
        },
      },
    }),
    pod('groups-strict', {
      image: KUBELET_NODE.groupsImage,
      spec: {
        securityContext: {
          runAsUser: 1000,
          runAsGroup: 1000,
          supplementalGroups: [3000],
          fsGroup: 4000,
          supplementalGroupsPolicy: 'Strict',
        },
      },
    }),
    pod('debrunc-userns', { spec: { hostUsers: false, runtimeClassName: 'debrunc' } }),
    pod('gvisor', { spec: { runtimeClassName: 'runsc' } }),
  ]);
  const running = [
    'plain',
    'userns',
    'rro-enabled',
    'rro-off',
    'unmasked',
    'groups',
    'groups-strict',
    'gvisor',
  ];
  await until(
    'the pods Running',
    () => {
      const list = JSON.parse(k(['get', 'pods', '-n', NS, '-o', 'json'])) as {
        items: { metadata: { name: string }; status: { phase?: string } }[];
      };
      const up = new Set(
        list.items.filter((p) => p.status.phase === 'Running').map((p) => p.metadata.name),
      );
      return running.every((n) => up.has(n)) ? true : undefined;
    },
    120_000,
  );
  const r = nsreport([
    'scan',
    '-o',
    'json',
    '--cri-endpoint',
    KUBELET_NODE.socket,
    '--host-pid',
    KUBELET_NODE.kubeletPid,
  ]);
  assert.equal(r.code, 0, r.stderr);
  const list = JSON.parse(r.stdout) as { items: NamespaceReport[] };
  reports = new Map(
    list.items.filter((i) => i.metadata.namespace === NS).map((i) => [i.metadata.name, i]),
  );
});

after(() => {
  k(['delete', 'namespace', NS, '--wait=true', '--timeout=120s', '--ignore-not-found']);
  sh('umount', [join(host, 'sub')]);
  rmSync(host, { recursive: true, force: true });
});

test('hostUsers: false: the uid and gid maps the kernel shows, idmapped volumes, no NSR012', () => {
  const c = container('userns');
  const [inside, outside, length] = proc(c, 'uid_map').trim().split(/\s+/).map(Number);
  assert.equal(inside, 0);
  assert.ok(outside !== undefined && outside > 0 && outside % 65536 === 0, String(outside));
  assert.equal(length, 65536);
  assert.deepEqual(c.userNamespace, {
    uidMap: [{ inside, outside, length }],
    gidMap: [{ inside, outside, length }],
    rootUid: outside,
  });
  assert.equal(c.namespaces.user?.sharedWithHost, undefined, 'its own user namespace');
  assert.ok(c.namespaces.user?.inode);
  assert.equal(report('userns').report.declared.user, 'POD');
  // The kernel's mount table: the kubelet's bind mounts are idmapped, the rootfs is not.
  const table = proc(c, 'mountinfo');
  for (const at of ['/e', '/h']) {
    const line = table.split('\n').find((l) => l.split(' ')[4] === at);
    assert.match(line?.split(' ')[5] ?? '', /(^|,)idmapped(,|$)/, `${at}: ${line}`);
    assert.equal(c.mounts.find((m) => m.destination === at)?.idmapped, true, at);
  }
  assert.deepEqual(ids('userns'), []);
  // The same image without a user namespace: root is the node's.
  assert.equal(container('plain').userNamespace, undefined);
  assert.ok(ids('plain').includes('NSR012'));
});

test('recursiveReadOnly: Enabled makes the sub-mount read-only; without it the sub-mount is writable and NSR015 says so', () => {
  const on = container('rro-enabled');
  const off = container('rro-off');
  assert.equal(canWrite(on, '/h/sub/x'), false);
  assert.equal(canWrite(off, '/h/sub/x'), true);
  const mOn = on.mounts.find((m) => m.destination === '/h');
  const mOff = off.mounts.find((m) => m.destination === '/h');
  assert.equal(mOn?.recursiveReadOnly, true);
  assert.equal(mOn?.writableSubmounts, undefined);
  assert.ok(!ids('rro-enabled').includes('NSR015'));
  assert.equal(mOff?.recursiveReadOnly, undefined);
  assert.deepEqual(mOff?.writableSubmounts, ['/h/sub']);
  assert.deepEqual(
    report('rro-off')
      .report.findings.filter((f) => f.id === 'NSR015')
      .map((f) => f.severity),
    ['medium'],
  );
});

test('procMount: Unmasked in its own user namespace: an unmasked /proc, and no NSR016', () => {
  const c = container('unmasked');
  const table = proc(c, 'mountinfo');
  const procMounts = table
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((mp) => mp.startsWith('/proc/'));
  assert.deepEqual(procMounts, [], 'nothing mounted over /proc’s paths');
  assert.equal(c.procMount, 'Unmasked');
  assert.ok(!ids('unmasked').includes('NSR016'));
  // A default pod's /proc: masked, said by nothing in its report.
  assert.equal(container('plain').procMount, undefined);
  assert.match(proc(container('plain'), 'mountinfo'), / \/proc\/sys ro,/);
});

test('groups: the image’s group is named; Strict leaves it out', () => {
  const kernel = (c: ReportContainer): number[] =>
    (/^Groups:\s*(.*)$/m.exec(proc(c, 'status'))?.[1] ?? '')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number)
      .sort((a, b) => a - b);
  const merged = container('groups');
  const strict = container('groups-strict');
  assert.ok(kernel(merged).includes(2000));
  assert.ok(!kernel(strict).includes(2000));
  assert.deepEqual(merged.groups?.supplementary, kernel(merged));
  assert.deepEqual(merged.groups?.fromImage, [2000]);
  assert.deepEqual(strict.groups?.supplementary, kernel(strict));
  assert.deepEqual(strict.groups?.fromImage, []);
});

test('the audit: what each handler of the node gives, and the pod whose RuntimeClass cannot give it', async () => {
  // The kubelet refuses it at sandbox creation.
  await until(
    'the refusal of debrunc-userns',
    () => {
      const events = k([
        'get',
        'events',
        '-n',
        NS,
        '--field-selector',
        'involvedObject.name=debrunc-userns',
        '-o',
        'json',
      ]);
      return /does not support user namespaces/.test(events) ? true : undefined;
    },
    60_000,
  );
  const r = nsreport(['audit', '--kubeconfig', kubeconfig, '-n', NS, '-o', 'json']);
  assert.equal(r.code, 0, r.stderr);
  const audit = JSON.parse(r.stdout) as AuditResult;
  const node = audit.coverage.nodeRuntimes?.find((n) => n.node === KUBELET_NODE.name);
  const debrunc = node?.runtime?.handlers.find((h) => h.name === 'debrunc');
  assert.deepEqual(debrunc, {
    name: 'debrunc',
    userNamespaces: false,
    recursiveReadOnlyMounts: true,
  });
  assert.equal(node?.runtime?.handlers.find((h) => h.name === '')?.userNamespaces, true);
  assert.deepEqual(audit.coverage.unmetRequests, [
    {
      namespace: NS,
      name: 'debrunc-userns',
      node: KUBELET_NODE.name,
      handler: 'debrunc',
      missing: ['hostUsers: false'],
    },
  ]);
  // -o wide: each line whole (the default table wraps at 120 columns).
  const table = nsreport(['audit', '--kubeconfig', kubeconfig, '-n', NS, '-o', 'wide']);
  assert.match(table.stdout, /debrunc: rro/);
  assert.match(table.stdout, /nsr-iso\/debrunc-userns \(\S+, handler debrunc: hostUsers: false\)/);
});

test('gVisor: the PID containerd gives is the sandbox’s (runsc), and nothing of it is reported as the container’s', () => {
  const r = report('gvisor').report;
  assert.equal(r.sandbox.runtimeHandler, 'runsc');
  const c = container('gvisor');
  assert.equal(c.sandboxed, true);
  assert.deepEqual(c.namespaces, {});
  assert.equal(c.userNamespace, undefined);
  assert.equal(c.procMount, undefined);
  assert.equal(r.hostNamespaces.network, 'unknown');
  assert.deepEqual(r.findings, []);
  // The kernel: that PID runs runsc (its sandbox or gofer), not the pod's sleep.
  assert.ok(c.pid > 0);
  assert.match(readlinkSync(`/proc/${c.pid}/exe`), /runsc/);
  // A runc pod of the same image keeps every observation.
  assert.equal(container('plain').sandboxed, undefined);
  assert.equal(report('plain').report.sandbox.runtimeHandler, undefined);
});

test('the real CRD takes every report as the agent writes it; kubectl explain documents the new fields; a plain pod’s stays ≤ 3 KiB', () => {
  const items = [...reports.values()];
  k(
    ['apply', '--server-side', '--dry-run=server', '-f', '-'],
    JSON.stringify({ apiVersion: 'v1', kind: 'List', items }),
  );
  for (const field of [
    'userNamespace.rootUid',
    'procMount',
    'groups.fromImage',
    'mounts.writableSubmounts',
    'mounts.idmapped',
  ]) {
    const out = k(['explain', `namespacereports.report.containers.${field}`]);
    assert.match(out, /DESCRIPTION:/, field);
  }
  assert.match(k(['explain', 'namespacereports.report.declared.user']), /hostUsers: false/);
  const plain = JSON.stringify(report('plain'));
  assert.ok(plain.length <= 3 * 1024, `${plain.length} bytes`);
});
