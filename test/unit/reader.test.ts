import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  listProcesses,
  readMountinfo,
  readNamespaces,
  readNetwork,
  readSocketInodes,
  resolveInRoot,
} from '../../src/procfs/reader.js';
import { fakeProc, fixture, netFixture } from './fixtures.js';

test('readNamespaces: all types present, a missing type is just absent', async () => {
  const root = await fakeProc({
    10: { ns: { net: 11, mnt: 12, pid: 13, ipc: 14, uts: 15, user: 16, cgroup: 17 } },
  });
  const r = readNamespaces(root, 10);
  assert.deepEqual(r, {
    ok: true,
    value: { net: 11, mnt: 12, pid: 13, ipc: 14, uts: 15, user: 16, cgroup: 17 },
  });
});

test('a vanished process is gone, never a throw', async () => {
  const root = await fakeProc({});
  const ns = readNamespaces(root, 4242);
  assert.equal(ns.ok, false);
  assert.equal(!ns.ok && ns.reason, 'gone');
  const mi = readMountinfo(root, 4242);
  assert.equal(!mi.ok && mi.reason, 'gone');
  const net = readNetwork(root, 4242, true);
  assert.equal(!net.ok && net.reason, 'gone');
  const fds = readSocketInodes(root, 4242);
  assert.equal(!fds.ok && fds.reason, 'gone');
});

test('an empty mountinfo (process exiting mid-read) is gone', async () => {
  const root = await fakeProc({ 5: { mountinfo: '' } });
  const r = readMountinfo(root, 5);
  assert.equal(!r.ok && r.reason, 'gone');
});

test('readNetwork: interfaces, addresses and listeners of a namespace', async () => {
  const root = await fakeProc({ 7: { net: netFixture('pod') } });
  const r = readNetwork(root, 7, true);
  assert.ok(r.ok);
  assert.deepEqual(
    r.value.interfaces.map((i) => i.name),
    ['lo', 'eth0'],
  );
  assert.deepEqual(r.value.listeners, [
    { protocol: 'tcp6', address: '::', port: 8080, inode: 17503 },
  ]);
  const noListeners = readNetwork(root, 7, false);
  assert.ok(noListeners.ok);
  assert.equal(noListeners.value.listeners, null);
});

test('readNetwork: a kernel without IPv6 files still reads', async () => {
  const net = netFixture('host');
  delete net.tcp6;
  delete net.udp6;
  delete net.if_inet6;
  const root = await fakeProc({ 8: { net } });
  const r = readNetwork(root, 8, true);
  assert.ok(r.ok);
  assert.ok(r.value.listeners?.every((l) => l.protocol === 'tcp' || l.protocol === 'udp'));
});

test('readSocketInodes: only socket fds count', async () => {
  const root = await fakeProc({
    9: { fds: { '0': '/dev/null', '1': 'pipe:[16429]', '3': 'socket:[17416]', '4': 'socket:[9]' } },
  });
  const r = readSocketInodes(root, 9);
  assert.ok(r.ok);
  assert.deepEqual([...r.value].sort(), [17416, 9]);
});

test('listProcesses: pids with their command names, sorted', async () => {
  const root = await fakeProc({ 30: { comm: 'sleep' }, 4: { comm: 'init' } });
  assert.deepEqual(listProcesses(root), [
    { pid: 4, comm: 'init' },
    { pid: 30, comm: 'sleep' },
  ]);
  assert.ok(fixture('proc/host.mountinfo').length > 0);
});

test('resolveInRoot: symlinks followed inside the container root, never out of it', () => {
  const proc = mkdtempSync(join(tmpdir(), 'nsreport-root-'));
  try {
    const root = join(proc, '7', 'root');
    mkdirSync(join(root, 'run/secrets/kubernetes.io/serviceaccount'), { recursive: true });
    mkdirSync(join(root, 'var'), { recursive: true });
    mkdirSync(join(root, 'etc'), { recursive: true });
    symlinkSync('/run', join(root, 'var/run')); // Debian/Ubuntu images
    symlinkSync('../../../../..', join(root, 'etc/up')); // climbs: stops at the root
    symlinkSync('/etc', join(root, 'etc/abs')); // absolute: the container's /etc
    symlinkSync('loop2', join(root, 'loop1'));
    symlinkSync('loop1', join(root, 'loop2'));
    const r = (p: string): string => resolveInRoot(proc, 7, p);
    assert.equal(
      r('/var/run/secrets/kubernetes.io/serviceaccount'),
      '/run/secrets/kubernetes.io/serviceaccount',
    );
    assert.equal(r('/etc/up/tmp'), '/tmp');
    assert.equal(r('/etc/abs/hosts'), '/etc/hosts');
    assert.equal(r('/no/such/dir'), '/no/such/dir');
    assert.equal(r('/loop1/x'), '/loop1/x', 'a loop leaves the path as written');
    assert.equal(r('/data//./x/'), '/data/x');
    assert.equal(resolveInRoot(proc, 8, '/var/run/x'), '/var/run/x', 'gone process');
  } finally {
    rmSync(proc, { recursive: true, force: true });
  }
});
