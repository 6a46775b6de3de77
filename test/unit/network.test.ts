import assert from 'node:assert/strict';
import { rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { createNetworkObserver, type NetnsGroup } from '../../src/collect/network.js';
import { sample } from './snapshot.js';
import { fakeProc, netFixture } from './fixtures.js';

const podNs = { net: 500, mnt: 501, pid: 502, ipc: 503, uts: 504, user: 6, cgroup: 7, time: 8 };

function group(pid: number, name: string, mnt = 501): NetnsGroup {
  return {
    inode: 500,
    members: [sample(name, { pid, ns: { ...podNs, mnt } })],
    ownedOnly: false,
    pid,
  };
}

test('listeners are attributed by the mount namespace of the process holding the socket', async () => {
  const procRoot = await fakeProc({
    200: { ns: { net: 500, mnt: 501 }, net: netFixture('pod') },
    // A worker forked by the container's init (a grandchild, say): same mount namespace.
    260: { ns: { net: 500, mnt: 501 }, fds: { '3': 'socket:[17503]' } },
  });
  const observer = createNetworkObserver({ procRoot, maxAgeMs: 60_000, now: () => 0 });
  const { map, reads } = observer.observe([group(200, 'sidecar')]);
  assert.equal(reads, 1);
  assert.deepEqual(map.get(500)?.listeners, [
    {
      protocol: 'tcp6',
      address: '::',
      port: 8080,
      container: 'sidecar',
      containerId: 'id-sidecar',
    },
  ]);
});

test('a namespace where no process holds a socket is not asked for its socket tables', async () => {
  const procRoot = await fakeProc({ 200: { ns: { net: 500, mnt: 501 }, net: netFixture('pod') } });
  const observer = createNetworkObserver({ procRoot, maxAgeMs: 0, now: () => 0 });
  const { map } = observer.observe([group(200, 'app')]);
  assert.deepEqual(map.get(500)?.listeners, []);
  assert.deepEqual(
    map.get(500)?.interfaces.map((i) => i.name),
    ['lo', 'eth0'],
  );
});

test('in a host network namespace only the pod containers sockets count', async () => {
  const procRoot = await fakeProc({
    300: { ns: { net: 1, mnt: 301 }, net: netFixture('host'), fds: { '3': 'socket:[17416]' } },
    2: { ns: { net: 1, mnt: 2 }, fds: { '5': 'socket:[103]' } }, // the host's own daemon on :2024
  });
  const observer = createNetworkObserver({ procRoot, maxAgeMs: 0, now: () => 0 });
  const g: NetnsGroup = {
    inode: 1,
    members: [sample('server', { pid: 300, ns: { ...podNs, net: 1, mnt: 301 } })],
    ownedOnly: true,
    pid: 300,
  };
  const { map } = observer.observe([g]);
  assert.deepEqual(map.get(1)?.listeners, [
    { protocol: 'tcp6', address: '::', port: 39180, container: 'server', containerId: 'id-server' },
  ]);
});

test('a namespace is read again when its containers change or its observation is too old', async () => {
  const procRoot = await fakeProc({
    200: { ns: { net: 500, mnt: 501 }, net: netFixture('pod') },
    201: { ns: { net: 500, mnt: 511 }, net: netFixture('pod') },
  });
  let now = 0;
  const observer = createNetworkObserver({ procRoot, maxAgeMs: 1000, now: () => now });
  assert.equal(observer.observe([group(200, 'a')]).reads, 1);
  assert.equal(observer.observe([group(200, 'a')]).reads, 0);
  const two: NetnsGroup = {
    ...group(200, 'a'),
    members: [...group(200, 'a').members, ...group(201, 'b', 511).members],
  };
  assert.equal(observer.observe([two]).reads, 1, 'a new container joined');
  now = 999;
  assert.equal(observer.observe([two]).reads, 0);
  now = 1000;
  assert.equal(observer.observe([two]).reads, 1, 'max age reached');
});

test('an fd table that cannot be read does not mean "no socket": listeners are read, unattributed', async () => {
  const procRoot = await fakeProc({ 200: { ns: { net: 500, mnt: 501 }, net: netFixture('pod') } });
  // An unreadable fd table (ELOOP here: root reads through mode bits, so no chmod test).
  const fd = join(procRoot, '200', 'fd');
  rmSync(fd, { recursive: true });
  symlinkSync('fd', fd);
  const observer = createNetworkObserver({ procRoot, maxAgeMs: 0, now: () => 0 });
  const { map } = observer.observe([group(200, 'web')]);
  assert.deepEqual(map.get(500)?.listeners, [
    { protocol: 'tcp6', address: '::', port: 8080, container: '', containerId: '' },
  ]);
});
