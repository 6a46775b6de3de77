import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { NamespaceReport } from '../../src/report/types.js';
import { createLabClient } from '../lab/cri.js';
import { removePod, runPod, type LabPod, type LabPodSpec } from '../lab/pods.js';
import { LAB } from '../env.js';
import { nsreport } from '../nsreport.js';
import { reportLookup } from '../reports.js';
import { labScanArgs } from './agent-process.js';

/**
 * The newer isolation features asked of the lab's runtime (Debian's containerd 1.6 and runc
 * 1.1) the way a kubelet asks for them through CRI — a user namespace of its own (`userns_options`
 * mode POD), a recursively read-only volume (`recursive_read_only`), groups — and what nsreport
 * says the kernel gave, each checked against the kernel read here without nsreport.
 */
const { socket, image, hostDir } = LAB;
const cri = createLabClient(socket, { timeoutMs: 30_000 });
const SLEEP = ['/bin/sleep', 'infinity'];
/** A host ID no other lab pod uses, a multiple of 65536 as the kubelet picks them. */
const USERNS_HOST_ID = 65536 * 300;

const pods: LabPod[] = [];
let reports: Map<string, NamespaceReport>;
let volume: string;

const { report, container } = reportLookup(() => reports);

function sh(cmd: string, args: string[]): { code: number | null; out: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

/** A file written in the container's mount namespace, as its root (nsenter, not nsreport). */
function canWrite(pid: number, path: string): boolean {
  return sh('nsenter', ['-t', String(pid), '-m', 'touch', path]).code === 0;
}

before(async () => {
  assert.ok(socket && hostDir, 'run through test/e2e/run.sh (needs the lab env)');
  // A host directory with a mount inside it: what recursive read-only is about.
  volume = join(hostDir, 'rro');
  mkdirSync(join(volume, 'sub'), { recursive: true });
  assert.equal(sh('mount', ['-t', 'tmpfs', 'nsr-rro', join(volume, 'sub')]).code, 0);
  const ro = (recursiveReadOnly: boolean) => ({
    containerPath: '/h',
    hostPath: volume,
    propagation: 'PROPAGATION_PRIVATE' as const,
    readonly: true,
    recursiveReadOnly,
  });
  const specs: LabPodSpec[] = [
    {
      name: 'iso-userns',
      usernsHostId: USERNS_HOST_ID,
      containers: [{ name: 'app', command: SLEEP }],
    },
    { name: 'iso-rro', containers: [{ name: 'app', command: SLEEP, mounts: [ro(true)] }] },
    { name: 'iso-ro', containers: [{ name: 'app', command: SLEEP, mounts: [ro(false)] }] },
    {
      name: 'iso-groups',
      containers: [
        {
          name: 'app',
          command: SLEEP,
          runAsUser: 1000,
          runAsGroup: 1000,
          supplementalGroups: [3000, 4000],
        },
      ],
    },
  ];
  for (const spec of specs) pods.push(await runPod(cri, spec, image));
  const r = nsreport(labScanArgs(socket));
  assert.equal(r.code, 0, r.stderr);
  const list = JSON.parse(r.stdout) as { items: NamespaceReport[] };
  reports = new Map(list.items.map((i) => [i.metadata.name, i]));
});

after(async () => {
  for (const p of pods) await removePod(cri, p.sandboxId);
  cri.close();
  sh('umount', [join(volume, 'sub')]);
  rmSync(volume, { recursive: true, force: true });
});

test('containerd 1.6 asked for a user namespace: the container is in the host’s, and the runtime drops what it ignored', () => {
  const c = container('iso-userns');
  const hostUserns = readFileSync('/proc/self/uid_map', 'utf8').trim().split(/\s+/);
  const own = readFileSync(`/proc/${c.pid}/uid_map`, 'utf8').trim().split(/\s+/);
  // The kernel: the container's uid_map is the host's identity map, whatever CRI asked.
  assert.deepEqual(own, hostUserns);
  assert.equal(c.namespaces.user?.sharedWithHost, 'true');
  assert.equal(c.userNamespace, undefined);
  // containerd 1.6's CRI has no userns_options: its sandbox status says nothing was asked (a
  // kubelet refuses hostUsers: false on it: "runtime does not support user namespaces").
  const r = report('iso-userns').report;
  assert.equal(r.declared.user, undefined);
  const ids = r.findings.map((f) => f.id);
  assert.deepEqual(ids, ['NSR012'], 'its root is the node’s');
});

test('recursive read-only asked of containerd 1.6: the sub-mount stays writable, NSR015', () => {
  for (const name of ['iso-rro', 'iso-ro']) {
    const c = container(name);
    const m = c.mounts.find((x) => x.destination === '/h');
    assert.ok(m, `${name}: /h`);
    assert.equal(m.readOnly, true);
    // The kernel: the top is read-only, the tmpfs below it is not (nsenter, as the container).
    assert.equal(canWrite(c.pid, '/h/top'), false, `${name}: /h is read-only`);
    assert.equal(canWrite(c.pid, '/h/sub/x'), true, `${name}: /h/sub is writable`);
    assert.deepEqual(m.writableSubmounts, ['/h/sub']);
    // containerd 1.6 drops recursive_read_only too: the report cannot say it was asked.
    assert.equal(m.recursiveReadOnly, undefined);
    const f = report(name).report.findings.find((x) => x.id === 'NSR015');
    assert.equal(f?.severity, 'medium', `${name}: NSR015`);
  }
});

test('groups: runAsGroup and supplementalGroups as the kernel shows them, none from the image', () => {
  const c = container('iso-groups');
  const status = readFileSync(`/proc/${c.pid}/status`, 'utf8');
  const groups = /^Groups:\s*(.*)$/m.exec(status)?.[1]?.trim().split(/\s+/).map(Number) ?? [];
  assert.deepEqual(
    c.groups?.supplementary,
    [...groups].sort((a, b) => a - b),
  );
  assert.equal(c.groups?.gid, 1000);
  assert.ok(c.groups?.supplementary.includes(3000) && c.groups.supplementary.includes(4000));
  assert.deepEqual(c.groups?.fromImage, []);
});

test('/proc of a lab container is masked as containerd’s default: no procMount in the report, no NSR016', () => {
  for (const name of ['iso-ro', 'iso-groups']) {
    const c = container(name);
    assert.equal(c.procMount, undefined, name);
    const table = readFileSync(`/proc/${c.pid}/mountinfo`, 'utf8');
    assert.match(table, / \/proc\/sys ro,/, `${name}: /proc/sys read-only in the kernel's table`);
    assert.ok(!report(name).report.findings.some((f) => f.id === 'NSR016'));
  }
});
