import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { readProcessStart } from '../../src/procfs/reader.js';
import { runNsreport, type CliResult } from '../nsreport.js';
import { podOf, startFakeCri, type FakeCri } from './fake-cri.js';

/**
 * netns link and unlink on the real kernel (root): a child made with `unshare --net` is the
 * container, a fake CRI runtime in this process names it, and the CLI, util-linux mount and
 * iproute2 do the rest. Everything happens in a private mount namespace held by a `sleep`
 * (`unshare --mount`, a tmpfs on /run): nsreport's default --netns-dir, its records and
 * `ip netns add` all land there, and every mount and name goes when that process is killed,
 * whatever a test did. Processes are killed by their PIDs in `after`.
 */
const isRoot = process.getuid?.() === 0;
const scratch = mkdtempSync(join(tmpdir(), 'nsreport-netns-kernel-'));
const children: ChildProcess[] = [];
let holder: ChildProcess;
let cri: FakeCri;
// Also when the file dies before its hooks run: nothing of this file outlives it.
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(scratch, { recursive: true, force: true });
});

const sleepFor = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const nsOf = (pid: number | 'self', type: 'net' | 'mnt'): string =>
  readlinkSync(`/proc/${pid}/ns/${type}`);
const inode = (link: string): number => Number(/^\w+:\[(\d+)\]$/.exec(link)?.[1]);

/** A child that lives at most two minutes even if this process dies without killing it. */
function start(cmd: string, args: readonly string[]): ChildProcess {
  const child = spawn(cmd, [...args], { stdio: 'ignore' });
  children.push(child);
  return child;
}

/** Waits until the child is in a namespace of `type` other than ours (unshare has run). */
async function unshared(child: ChildProcess, type: 'net' | 'mnt'): Promise<number> {
  const pid = child.pid ?? 0;
  for (let i = 0; i < 100; i++) {
    try {
      if (nsOf(pid, type) !== nsOf('self', type)) return pid;
    } catch {
      // not started yet
    }
    await sleepFor(20);
  }
  throw new Error(`${pid} never left our ${type} namespace`);
}

/** `cmd args` in the private mount namespace. */
function inside(cmd: string, args: readonly string[]): { code: number | null; out: string } {
  const r = spawnSync('nsenter', ['-t', String(holder.pid), '-m', '--', cmd, ...args], {
    encoding: 'utf8',
    timeout: 10_000,
  });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

const nsreport = (args: readonly string[]): Promise<CliResult> =>
  runNsreport(args, { wrap: ['nsenter', '-t', String(holder.pid), '-m', '--'], timeoutMs: 20_000 });
const link = (): Promise<CliResult> =>
  nsreport(['netns', 'link', 'shop/web', '--cri-endpoint', cri.socket]);
const unlink = (): Promise<CliResult> => nsreport(['netns', 'unlink', 'shop/web']);
/** What `ip netns exec shop_web` enters. */
const entered = (): string => {
  const r = inside('ip', ['netns', 'exec', 'shop_web', 'readlink', '/proc/self/ns/net']);
  assert.equal(r.code, 0, r.out);
  return r.out.trim();
};
const mountsOfName = (): string[] =>
  readFileSync(`/proc/${holder.pid}/mountinfo`, 'utf8')
    .split('\n')
    .filter((l) => l.split(' ')[4] === '/run/netns/shop_web');

/** A new "container": its own network namespace; the runtime now says it is shop/web's. */
async function container(
  name?: string,
): Promise<{ pid: number; netns: string; startedMs: number }> {
  const pid = await unshared(start('unshare', ['--net', 'sleep', '120']), 'net');
  cri.pods = [podOf(pid, name === undefined ? {} : { container: name })];
  const started = readProcessStart('/proc', pid);
  assert.ok(started.ok);
  return { pid, netns: nsOf(pid, 'net'), startedMs: started.value };
}

before(async () => {
  if (!isRoot) return;
  for (const tool of ['ip', 'unshare', 'nsenter', 'mount', 'umount'])
    assert.equal(spawnSync('which', [tool]).status, 0, `${tool} must be installed`);
  holder = start('unshare', ['--mount', '--propagation', 'private', 'sleep', '120']);
  await unshared(holder, 'mnt');
  const tmpfs = (dir: string): void => {
    const r = inside('mount', ['-t', 'tmpfs', '-o', 'mode=0755', 'nsreport-test', dir]);
    assert.equal(r.code, 0, r.out);
  };
  tmpfs('/run');
  // Where /var/run is not the usual link to /run, ip netns would write the host's directory.
  if (!lstatSync('/var/run').isSymbolicLink()) tmpfs('/var/run');
  cri = await startFakeCri(join(scratch, 'cri.sock'));
});

after(() => {
  // The mount namespace, with every mount and name in it, goes with its last process.
  for (const c of children) c.kill('SIGKILL');
  if (isRoot) cri.close();
  rmSync(scratch, { recursive: true, force: true });
});

const root = { skip: isRoot ? false : 'needs root (mounts, namespaces)' };
let pinned: { pid: number; netns: string; startedMs: number };

test(
  'link pins the namespace: ip netns exec enters it, the name is an nsfs mount, a record names it',
  root,
  async () => {
    pinned = await container();
    const r = await link();
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      new RegExp(
        `^/run/netns/shop_web: pinned network namespace ${inode(pinned.netns)} of pod shop/web \\(container app, PID ${pinned.pid}\\)\nuse: ip netns exec shop_web COMMAND\n$`,
      ),
    );
    assert.equal(entered(), pinned.netns);
    assert.match(inside('ip', ['netns', 'list']).out, /^shop_web\b/m);
    const mounts = mountsOfName();
    assert.equal(mounts.length, 1, mounts.join('\n'));
    assert.match(
      mounts[0] ?? '',
      new RegExp(` ${pinned.netns.replace(/[[\]]/g, '\\$&')} /run/netns/shop_web .* - nsfs `),
    );
    const record = JSON.parse(inside('cat', ['/run/nsreport/netns/run/netns/shop_web']).out) as {
      netns: number;
      pod: { uid: string };
      pid: number;
    };
    assert.equal(record.netns, inode(pinned.netns));
    assert.equal(record.pod.uid, 'uid-web');
    assert.equal(record.pid, pinned.pid);
    const again = await link();
    assert.equal(again.code, 0, again.stderr);
    assert.match(
      again.stdout,
      /^\/run\/netns\/shop_web already pins network namespace \d+ of pod shop\/web: nothing to do\n$/,
    );
    assert.equal(mountsOfName().length, 1);
  },
);

/** Makes the next process this kernel creates get `pid` (ns_last_pid), a plain `sleep`. */
async function reusePid(pid: number): Promise<ChildProcess> {
  for (let i = 0; i < 200; i++) {
    writeFileSync('/proc/sys/kernel/ns_last_pid', String(pid - 1));
    const child = start('sleep', ['120']);
    if (child.pid === pid) {
      await sleepFor(50); // until it has exec'd
      return child;
    }
    child.kill('SIGKILL');
  }
  throw new Error(`PID ${pid} could not be reused`);
}

test(
  "the name keeps the pod's namespace after its PID goes to a process in the host's",
  root,
  async () => {
    const c = children.find((x) => x.pid === pinned.pid);
    assert.ok(c);
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await exited;
    // The PID rule allows 2 s around the container's start (boot time is to the second): a PID
    // reused later than that is told apart, as any reuse of a long-running container's would be.
    // A start read from /proc lies up to 1 s from the clock (btime is whole seconds): 4 s on it.
    await sleepFor(Math.max(0, pinned.startedMs + 4000 - Date.now()));
    await reusePid(pinned.pid);
    // The old symlink to /proc/<pid>/ns/net would now enter this: the host's namespace.
    assert.equal(nsOf(pinned.pid, 'net'), nsOf('self', 'net'));
    assert.notEqual(nsOf(pinned.pid, 'net'), pinned.netns);
    assert.equal(entered(), pinned.netns);
    // The runtime has not noticed yet: link refuses the PID rather than pin the host's namespace.
    const r = await link();
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`PID ${pinned.pid} is not the container's process`));
    assert.equal(entered(), pinned.netns);
  },
);

test(
  'unlink unmounts and removes its name: nothing left in mountinfo, the name or the records',
  root,
  async () => {
    const r = await unlink();
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /^\/run\/netns\/shop_web: removed \(it pinned network namespace \d+ of pod shop\/web\)\n$/,
    );
    assert.deepEqual(mountsOfName(), []);
    assert.notEqual(inside('test', ['-e', '/run/netns/shop_web']).code, 0);
    assert.notEqual(
      inside('test', ['-e', '/run/nsreport']).code,
      0,
      'records and their directories',
    );
    assert.doesNotMatch(inside('ip', ['netns', 'list']).out, /shop_web/);
    const again = await unlink();
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout, 'nothing to do: /run/netns/shop_web does not exist\n');
  },
);

test(
  "a name of nsreport's for the pod's earlier namespace is refused, not replaced",
  root,
  async () => {
    // The runtime's container name is the pod's to choose: it cannot add a line of its own.
    const first = await container('app\nnsreport: forged\x1b[2J');
    const linked = await link();
    assert.equal(linked.code, 0, linked.stderr);
    assert.equal(linked.stdout.split('\n').length, 3, linked.stdout);
    assert.match(linked.stdout, /\(container app\\nnsreport: forged\\x1b\[2J, PID \d+\)\n/);
    // The pod's sandbox was made again: a new namespace under the same pod name.
    const second = await container();
    const r = await link();
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      new RegExp(
        `^nsreport: /run/netns/shop_web pins network namespace ${inode(first.netns)} of pod shop/web .*not the pod's namespace now \\(${inode(second.netns)}\\); run nsreport netns unlink first\n$`,
      ),
    );
    assert.equal(entered(), first.netns);
    assert.equal((await unlink()).code, 0);
    assert.deepEqual(mountsOfName(), []);
  },
);

test('a name ip netns add made is never touched by link or unlink', root, async () => {
  const add = inside('ip', ['netns', 'add', 'shop_web']);
  assert.equal(add.code, 0, add.out);
  try {
    const foreign = entered();
    await container();
    const l = await link();
    assert.equal(l.code, 1);
    assert.match(
      l.stderr,
      /^nsreport: \/run\/netns\/shop_web already exists and was not made by nsreport; leaving it\n$/,
    );
    const u = await unlink();
    assert.equal(u.code, 1);
    assert.match(u.stderr, /^nsreport: \/run\/netns\/shop_web was not made by nsreport netns link/);
    assert.equal(entered(), foreign);
    assert.equal(mountsOfName().length, 1);
  } finally {
    inside('ip', ['netns', 'delete', 'shop_web']);
  }
  assert.deepEqual(mountsOfName(), []);
});
