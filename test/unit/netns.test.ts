import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { checkContainerPid } from '../../src/collect/pid.js';
import { CriError } from '../../src/cri/errors.js';
import type {
  ContainerDetail,
  ContainerSummary,
  RuntimeClient,
  SandboxSummary,
} from '../../src/cri/types.js';
import { checkNetnsDir, makeNetnsDir, pseudoFilesystem } from '../../src/netns/dir.js';
import {
  linkName,
  nameState,
  unlinkName,
  type NameOptions,
  type NameStat,
} from '../../src/netns/names.js';
import { openPodNetns, type OpenNamespace } from '../../src/netns/pod.js';
import {
  formatRecord,
  parseRecord,
  readRecord,
  recordPath,
  writeRecord,
  type NameRecord,
} from '../../src/netns/record.js';
import {
  createMounter,
  findExecutable,
  NO_SYS_ADMIN,
  type Mounter,
  type ToolResult,
} from '../../src/netns/tools.js';
import { readProcessStart } from '../../src/procfs/reader.js';
import { fakeRuntime } from './fake-runtime.js';

/**
 * netns link/unlink as decisions and values: whose a name is, the records, the directory checks,
 * the tools' runs, the pod's process, and every way link and unlink stop before a mount. Runs
 * unprivileged: a real child process is the "container", a fake runtime names it, a fake mounter
 * stands in for mount. What only the kernel can say (the pin, PID reuse, ip netns exec) is in
 * netns-kernel.test.ts.
 */

const scratch = mkdtempSync(join(tmpdir(), 'nsreport-netns-'));
let sleeper: ChildProcess | undefined;
const sleeperPid = (): number => sleeper?.pid ?? 0;
// Also when the file dies before its hooks run: nothing of this file outlives it.
process.on('exit', () => {
  sleeper?.kill('SIGKILL');
  rmSync(scratch, { recursive: true, force: true });
});
let sleeperStartMs: number;

before(async () => {
  sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 100));
  const started = readProcessStart('/proc', sleeperPid());
  assert.ok(started.ok);
  sleeperStartMs = started.value;
});

after(() => {
  sleeper?.kill('SIGKILL');
  rmSync(scratch, { recursive: true, force: true });
});

let n = 0;
const fresh = (): string => {
  const d = join(scratch, `t${n++}`);
  mkdirSync(d);
  return d;
};

const record = (over: Partial<NameRecord> = {}): NameRecord => ({
  path: '/run/netns/shop_web',
  netns: 4026532177,
  dev: 4,
  pod: { namespace: 'shop', name: 'web', uid: 'u-1' },
  containerId: 'c1',
  pid: 1234,
  linkedAt: '2026-12-01T10:00:00.000Z',
  ...over,
});

test('whose a name is: nsreport only while its record names the path and the mount is of that namespace', () => {
  const path = '/run/netns/shop_web';
  const mounted: NameStat = { isFile: true, dev: 4, ino: 4026532177 };
  const cases: [string, NameStat | null, NameRecord | null, string][] = [
    ['nothing there', null, null, 'free'],
    ['nothing there, a stale record', null, record(), 'free'],
    ['a mount, no record (ip netns add)', mounted, null, 'foreign'],
    ['our mount and record', mounted, record(), 'ours'],
    ['the record of another path', mounted, record({ path: '/x/shop_web' }), 'foreign'],
    ['another namespace mounted there', { ...mounted, ino: 4026532999 }, record(), 'foreign'],
    ['a plain file (mount gone)', { isFile: true, dev: 64768, ino: 12 }, record(), 'foreign'],
    ['a symlink to the namespace', { ...mounted, isFile: false }, record(), 'foreign'],
  ];
  for (const [what, stat, rec, want] of cases)
    assert.equal(nameState(path, stat, rec).state, want, what);
});

test('records: what is written is read back; anything else is no record', () => {
  const r = record();
  assert.deepEqual(parseRecord(formatRecord(r)), r);
  const doc = JSON.parse(formatRecord(r)) as Record<string, unknown>;
  const variants: [string, string][] = [
    ['not JSON', '{"kind":'],
    ['empty', ''],
    ['a list', '[]'],
    ['another kind', JSON.stringify({ ...doc, kind: 'x' })],
    ['a later version', JSON.stringify({ ...doc, version: 2 })],
    ['a relative path', JSON.stringify({ ...doc, path: 'run/netns/x' })],
    ['a negative inode', JSON.stringify({ ...doc, netns: -1 })],
    ['an inode as text', JSON.stringify({ ...doc, netns: '4026532177' })],
    ['no pod', JSON.stringify({ ...doc, pod: undefined })],
    ['a pod without uid', JSON.stringify({ ...doc, pod: { namespace: 'a', name: 'b' } })],
    ['a huge field', JSON.stringify({ ...doc, containerId: 'x'.repeat(5000) })],
  ];
  for (const [what, text] of variants) assert.equal(parseRecord(text), null, what);
});

test('records: property — any record round-trips, and no text makes the parser throw', () => {
  const text = fc.string({ maxLength: 64 });
  const id = fc.nat();
  fc.assert(
    fc.property(
      fc.record({
        path: text.map((s) => `/${s}`),
        netns: id,
        dev: id,
        pod: fc.record({ namespace: text, name: text, uid: text }),
        containerId: text,
        pid: id,
        linkedAt: text,
      }),
      (r) => {
        // fast-check's records have no prototype; the parser's are plain objects.
        assert.deepEqual(parseRecord(formatRecord(r)), { ...r, pod: { ...r.pod } });
      },
    ),
  );
  fc.assert(
    fc.property(fc.oneof(fc.string(), fc.json()), (s) => {
      parseRecord(s);
    }),
  );
});

test('records live under the run directory at the name path, and go with their empty directories', () => {
  const state = join(fresh(), 'nsreport');
  const r = record({ path: '/run/netns/shop_web' });
  assert.equal(recordPath(state, r.path), join(state, 'netns/run/netns/shop_web'));
  assert.deepEqual(writeRecord(state, r), { ok: true });
  assert.deepEqual(readRecord(state, r.path), r);
  // Nothing but the record is left (the temporary file was renamed).
  assert.deepEqual(readdirSync(join(state, 'netns/run/netns')), ['shop_web']);
  writeFileSync(join(state, 'netns/run/netns/shop_web'), 'garbage');
  assert.equal(readRecord(state, r.path), null);
});

test('pseudo filesystems by statfs magic, including one above 2^31 seen as negative', () => {
  assert.equal(pseudoFilesystem(0x9fa0), 'proc');
  assert.equal(pseudoFilesystem(0x62656572), 'sysfs');
  assert.equal(pseudoFilesystem(0x63677270), 'cgroup2');
  assert.equal(pseudoFilesystem(0xde5e81e4 | 0), 'efivarfs');
  assert.equal(pseudoFilesystem(0xef53), null); // ext4
  assert.equal(pseudoFilesystem(0x01021994), null); // tmpfs
});

test('--netns-dir: a directory, or one level below one, on a filesystem that holds files', () => {
  const d = fresh();
  const file = join(d, 'file');
  writeFileSync(file, '');
  assert.deepEqual(checkNetnsDir('--netns-dir', d, true), { ok: true, exists: true });
  assert.deepEqual(checkNetnsDir('--netns-dir', join(d, 'netns'), true), {
    ok: true,
    exists: false,
  });
  const bad: [string, RegExp, 'usage' | 'failure'][] = [
    [file, /is not a directory/, 'usage'],
    [join(file, 'netns'), /is not a directory/, 'usage'],
    [join(d, 'a', 'b'), /its parent .*\/a does not exist/, 'usage'],
    ['/proc/sys/x', /\/proc\/sys\/x \(its parent \/proc\/sys\) is on proc,/, 'usage'],
    ['/proc/sys', /\/proc\/sys is on proc,/, 'usage'],
    ['/sys/kernel/x', /is on sysfs/, 'usage'],
  ];
  for (const [dir, message, fault] of bad) {
    const r = checkNetnsDir('--netns-dir', dir, true);
    assert.ok(!r.ok, dir);
    assert.equal(r.outcome.ok, false);
    assert.match(r.outcome.message, message, dir);
    assert.ok(!r.outcome.ok && r.outcome.fault === fault, dir);
  }
  const loop = join(d, 'loop');
  symlinkSync(loop, loop);
  const looped = checkNetnsDir('--netns-dir', loop, true);
  assert.ok(!looped.ok && !looped.outcome.ok && looped.outcome.fault === 'usage');
});

test('the netns directory is made as ip netns makes it: one level, 0755, then named canonically', () => {
  const d = fresh();
  const link = join(d, 'var-run');
  mkdirSync(join(d, 'run'));
  symlinkSync(join(d, 'run'), link);
  const made = makeNetnsDir('--netns-dir', join(link, 'netns'));
  assert.deepEqual(made, { ok: true, path: join(d, 'run', 'netns') });
  // 0755 before the umask: never more than that, always rwx for root.
  const mode = statSync(join(d, 'run', 'netns')).mode & 0o777;
  assert.equal(mode & ~0o755, 0);
  assert.equal(mode & 0o700, 0o700);
  assert.deepEqual(makeNetnsDir('--netns-dir', join(link, 'netns')), made);
});

test('tools are found on PATH as executable files only; relative entries are skipped', () => {
  const d = fresh();
  mkdirSync(join(d, 'bin'));
  writeFileSync(join(d, 'bin', 'mount'), '#!/bin/sh\n', { mode: 0o644 });
  mkdirSync(join(d, 'bin', 'umount'));
  assert.equal(findExecutable('mount', [join(d, 'bin')]), null);
  assert.equal(findExecutable('umount', [join(d, 'bin')]), null);
  chmodSync(join(d, 'bin', 'mount'), 0o755);
  assert.equal(findExecutable('mount', ['bin', join(d, 'bin')]), join(d, 'bin', 'mount'));
  assert.equal(findExecutable('mount', ['', '.', 'bin']), null);
});

/** An executable shell script standing in for mount or umount. */
function tool(body: string): string {
  const file = join(fresh(), 'tool');
  writeFileSync(file, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return file;
}

const mayMount = (): boolean => true;

test('a tool run: its fd 3 is the descriptor given; failures carry its first line; a hang is killed', async () => {
  const ns = readlinkSync('/proc/self/ns/net');
  // Says what its fd 3 is, then fails as mount does without CAP_SYS_ADMIN.
  const says = tool(
    'readlink /proc/self/fd/3 >&2; echo "mount: /x: permission denied." >&2; exit 32',
  );
  const { openSync, closeSync } = await import('node:fs');
  const fd = openSync('/proc/self/ns/net', 'r');
  try {
    const r = await createMounter({ mount: says, umount: says, mayMount }).bindNamespace(fd, '/x');
    assert.deepEqual(r, { ok: false, reason: 'failed', detail: `${ns} (exit 32)` });
  } finally {
    closeSync(fd);
  }
  const fails = await createMounter({
    mayMount,
    mount: null,
    umount: tool('echo "umount: /x: not mounted." >&2; exit 32'),
  }).unmount('/x');
  assert.deepEqual(fails, {
    ok: false,
    reason: 'failed',
    detail: 'umount: /x: not mounted. (exit 32)',
  });
  const missing = await createMounter({ mount: null, umount: null }).unmount('/x');
  assert.equal(!missing.ok && missing.reason, 'missing');
  const t0 = Date.now();
  const hung = await createMounter({
    mayMount,
    mount: null,
    umount: tool('exec sleep 30'),
    timeoutMs: 300,
  }).unmount('/x');
  assert.equal(!hung.ok && hung.reason, 'timeout');
  assert.ok(Date.now() - t0 < 5000);
  assert.deepEqual(
    await createMounter({ mount: null, umount: tool('exit 0'), mayMount }).unmount('/x'),
    { ok: true },
  );
  // Without CAP_SYS_ADMIN nothing is run: the reason is said instead of libmount's guess.
  const ran = join(fresh(), 'ran');
  const denied = await createMounter({
    mount: tool(`touch ${ran}`),
    umount: null,
    mayMount: () => false,
  }).bindNamespace(0, '/x');
  assert.deepEqual(denied, { ok: false, reason: 'denied', detail: NO_SYS_ADMIN });
  assert.equal(existsSync(ran), false);
});

// --- the pod's process, through a fake runtime naming the test's child process ---

const NS = 1e6;
const sandbox = (over: Partial<SandboxSummary> = {}): SandboxSummary => ({
  id: 's1',
  pod: { namespace: 'shop', name: 'web', uid: 'u-1' },
  state: 'ready',
  createdAt: 1,
  labels: {},
  annotations: {},
  static: false,
  runtimeHandler: '',
  ...over,
});
const summary = (over: Partial<ContainerSummary> = {}): ContainerSummary => ({
  id: 'c1',
  sandboxId: 's1',
  name: 'app',
  image: 'busybox',
  state: 'running',
  createdAt: 1,
  ...over,
});

function detail(pid: number, over: Partial<ContainerDetail> = {}): ContainerDetail {
  return {
    id: 'c1',
    state: 'running',
    pid,
    createdAt: (sleeperStartMs - 500) * NS,
    startedAt: (sleeperStartMs + 500) * NS,
    mounts: [],
    image: null,
    imageAsWritten: false,
    privileged: false,
    uid: 0,
    rootfsPropagation: null,
    declaredGroups: null,
    hostPorts: [],
    ...over,
  };
}

const runtime = fakeRuntime;

const openFds = (): number => readdirSync('/proc/self/fd').length;
const notFound = new CriError({
  kind: 'not-found',
  method: 'ContainerStatus',
  endpoint: 'fake',
  detail: 'gone',
});
const pod = { namespace: 'shop', name: 'web' };

test("the pod's namespace: opened through a running container whose process is its own", async () => {
  const pid = sleeperPid();
  const fds = openFds();
  const r = await openPodNetns(
    runtime(
      [sandbox({ id: 'old', createdAt: 0, state: 'notready' }), sandbox()],
      [summary({ id: 'c0', name: 'gone' }), summary()],
      { c0: notFound, c1: detail(pid) },
    ),
    '/proc',
    pod,
  );
  assert.ok(r.ok, r.ok ? '' : r.message);
  const want = /^net:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/ns/net`))?.[1];
  assert.equal(r.ns.inode, Number(want));
  assert.equal(r.ns.pid, pid);
  assert.deepEqual(r.ns.pod, { namespace: 'shop', name: 'web', uid: 'u-1' });
  assert.equal(r.ns.containerName, 'app');
  assert.equal(readlinkSync(`/proc/self/fd/${r.ns.fd}`), `net:[${want}]`);
  const { closeSync } = await import('node:fs');
  closeSync(r.ns.fd);
  assert.equal(openFds(), fds);
});

test('no pod, no running container, a reused PID, no times, a CRI error: a message each, no fd left open', async () => {
  const pid = sleeperPid();
  const fds = openFds();
  const cases: [string, RuntimeClient, RegExp][] = [
    [
      'no such pod',
      runtime([sandbox({ pod: { ...sandbox().pod, name: 'db' } })], [], {}),
      /^pod shop\/web not found on this node$/,
    ],
    [
      'sandbox not ready',
      runtime([sandbox({ state: 'notready' })], [], {}),
      /has no running container on this node \(its sandbox is not ready\)/,
    ],
    [
      'container exited',
      runtime([sandbox()], [summary({ state: 'exited' })], {}),
      /has no running container on this node$/,
    ],
    [
      'exited since listed',
      runtime([sandbox()], [summary()], { c1: detail(pid, { state: 'exited' }) }),
      /\(app: not running\)/,
    ],
    ['gone since listed', runtime([sandbox()], [summary()], { c1: notFound }), /\(app: gone\)/],
    [
      'PID reused: the process started after the container',
      runtime([sandbox()], [summary()], {
        c1: detail(pid, {
          createdAt: (sleeperStartMs + 60_000) * NS,
          startedAt: (sleeperStartMs + 61_000) * NS,
        }),
      }),
      new RegExp(`app: PID ${pid} is not the container's process`),
    ],
    [
      'no times to check against',
      runtime([sandbox()], [summary()], { c1: detail(pid, { createdAt: 0, startedAt: 0 }) }),
      /cannot tell whether PID \d+ is the container's process: the runtime gives no creation time/,
    ],
    [
      'a PID that is not there',
      runtime([sandbox()], [summary()], { c1: detail(999_999_999) }),
      /could not be opened \(ENOENT\)/,
    ],
    [
      'CRI refuses',
      {
        ...runtime([], [], {}),
        listSandboxes: () =>
          Promise.reject(
            new CriError({
              kind: 'permission-denied',
              method: 'ListPodSandbox',
              endpoint: '/x.sock',
              detail: 'EACCES',
            }),
          ),
      },
      /^CRI ListPodSandbox on \/x\.sock: permission denied/,
    ],
  ];
  for (const [what, rt, message] of cases) {
    const r = await openPodNetns(rt, '/proc', pod);
    assert.ok(!r.ok, what);
    assert.match(r.message, message, what);
  }
  assert.equal(openFds(), fds);
  await assert.rejects(
    openPodNetns(
      { ...runtime([], [], {}), listSandboxes: () => Promise.reject(new TypeError('bug')) },
      '/proc',
      pod,
    ),
    TypeError,
  );
});

test('the PID verdict netns takes: own, stale, or unknown (gone, no times) — never a guess', () => {
  const pid = sleeperPid();
  assert.deepEqual(checkContainerPid('/proc', detail(pid)), { verdict: 'own' });
  const later = detail(pid, { createdAt: (sleeperStartMs + 9_000) * NS });
  assert.equal(checkContainerPid('/proc', later).verdict, 'stale');
  assert.equal(checkContainerPid('/proc', detail(999_999_999)).verdict, 'unknown');
  assert.equal(checkContainerPid('/proc', detail(pid, { createdAt: 0 })).verdict, 'unknown');
});

// --- link and unlink up to the mount, with a fake mounter ---

interface FakeMounter extends Mounter {
  readonly calls: string[];
}

function mounter(bind: ToolResult, unmount: ToolResult = { ok: true }): FakeMounter {
  const calls: string[] = [];
  return {
    calls,
    bindNamespace: (_fd, target) => {
      calls.push(`bind ${target}`);
      return Promise.resolve(bind);
    },
    unmount: (target) => {
      calls.push(`umount ${target}`);
      return Promise.resolve(unmount);
    },
  };
}

function options(m: Mounter): NameOptions & { dir: string } {
  const root = fresh();
  return {
    netnsDir: join(root, 'netns'),
    stateDir: join(root, 'state'),
    name: 'shop_web',
    mounter: m,
    dir: root,
  };
}

async function withNamespace<T>(f: (ns: OpenNamespace) => Promise<T>): Promise<T> {
  const { openSync, closeSync, fstatSync } = await import('node:fs');
  const fd = openSync(`/proc/${sleeperPid()}/ns/net`, 'r');
  const st = fstatSync(fd);
  try {
    return await f({
      fd,
      dev: st.dev,
      inode: st.ino,
      pid: sleeperPid(),
      pod: { namespace: 'shop', name: 'web', uid: 'u-1' },
      containerId: 'c1',
      containerName: 'app',
    });
  } finally {
    closeSync(fd);
  }
}

test('link: a mount that fails leaves nothing behind and says why', async () => {
  const m = mounter({
    ok: false,
    reason: 'failed',
    detail: 'mount: /x: mount point is not a directory. (exit 32)',
  });
  const o = options(m);
  const r = await withNamespace((ns) => linkName(o, ns));
  assert.ok(!r.ok && r.fault === 'failure');
  assert.match(
    r.message,
    /^mount --bind of network namespace \d+ onto \S+\/netns\/shop_web: mount: \/x: mount point is not a directory\. \(exit 32\)$/,
  );
  assert.deepEqual(m.calls, [`bind ${join(o.dir, 'netns', 'shop_web')}`]);
  // The directory stays (as ip netns leaves /var/run/netns); the name and any record do not.
  assert.deepEqual(readdirSync(o.netnsDir), []);
  assert.equal(existsSync(o.stateDir), false);
});

test('link: a mount that did not pin the namespace is undone, never recorded', async () => {
  const o = options(mounter({ ok: true }));
  const r = await withNamespace((ns) => linkName(o, ns));
  assert.ok(!r.ok);
  assert.match(
    r.message,
    /shop_web did not pin network namespace \d+ \(it shows device \d+ inode \d+\)$/,
  );
  assert.deepEqual(readdirSync(o.netnsDir), []);
  assert.equal(existsSync(o.stateDir), false);
});

test('link: a name that exists and is not ours is left as it is', async () => {
  const m = mounter({ ok: true });
  const o = options(m);
  mkdirSync(o.netnsDir);
  const path = join(o.netnsDir, 'shop_web');
  writeFileSync(path, 'someone else');
  // Even with a record of ours for it: the file there is not our mount.
  assert.deepEqual(writeRecord(o.stateDir, record({ path, dev: statSync(path).dev, netns: 1 })), {
    ok: true,
  });
  const r = await withNamespace((ns) => linkName(o, ns));
  assert.ok(!r.ok && r.fault === 'failure');
  assert.match(r.message, /shop_web already exists and was not made by nsreport; leaving it$/);
  assert.equal(readFileSync(path, 'utf8'), 'someone else');
  assert.deepEqual(m.calls, []);
});

test('unlink: nothing there is nothing to do (and a stale record goes); a name not ours stays', async () => {
  const m = mounter({ ok: true });
  const o = options(m);
  const none = await unlinkName(o);
  assert.deepEqual(none, { ok: true, message: `nothing to do: ${o.netnsDir} does not exist` });
  mkdirSync(o.netnsDir);
  const path = join(o.netnsDir, 'shop_web');
  writeRecord(o.stateDir, record({ path }));
  assert.deepEqual(await unlinkName(o), {
    ok: true,
    message: `nothing to do: ${path} does not exist`,
  });
  assert.equal(existsSync(o.stateDir), false, 'the stale record and its directories');
  writeFileSync(path, 'foreign');
  const r = await unlinkName(o);
  assert.ok(!r.ok && r.fault === 'failure');
  assert.match(
    r.message,
    /shop_web was not made by nsreport netns link .*ip netns delete shop_web/,
  );
  assert.equal(readFileSync(path, 'utf8'), 'foreign');
  assert.deepEqual(m.calls, []);
  const proc = await unlinkName({ ...o, netnsDir: '/proc/sys/x' });
  assert.ok(!proc.ok && proc.fault === 'usage');
});
