import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { readMembership } from '../../src/collect/processes.js';
import { ancestry, mostSpecific, parseCgroup } from '../../src/procfs/cgroup.js';
import { fakeProc, fixture } from './fixtures.js';

const CONTAINER = 'bb3cb29a3ba01165f663cc6725331fa93ddd128dbb62a109b1b7319c9748bf92';

test('cgroup lines: every hierarchy, the most specific one, a path with a colon kept whole', () => {
  const lab = parseCgroup(fixture('proc/cgroup-containerd-lab'));
  assert.equal(lab.length, 10);
  assert.deepEqual(mostSpecific(lab), {
    hierarchy: '9:name=systemd',
    path: `/k8s.io/${CONTAINER}`,
  });
  const host = parseCgroup(fixture('proc/cgroup-v1-hybrid-host'));
  assert.equal(mostSpecific(host)?.hierarchy, '4:memory');
  assert.equal(mostSpecific([{ hierarchy: '0:', path: '/' }]), null);
  assert.deepEqual(parseCgroup('0::/a:b/c\nnot a line\n3:cpu\n'), [
    { hierarchy: '0:', path: '/a:b/c' },
  ]);
  assert.deepEqual(ancestry('/a/b/c'), ['/a/b/c', '/a/b', '/a']);
  assert.deepEqual(ancestry('/'), []);
  fc.assert(fc.property(fc.string(), (s) => parseCgroup(s).every((e) => e.path.startsWith('/'))));
});

const v2 = (path: string): string => `0::${path}\n`;
const ns = (net: number, mnt: number): Record<string, number> => ({
  net,
  mnt,
  pid: 3,
  ipc: 4,
  uts: 5,
  user: 6,
  cgroup: 7,
  time: 8,
});

test('membership: a process belongs to the container whose cgroup (or one below it) holds it', async () => {
  const procRoot = await fakeProc({
    1: { ns: ns(1, 2), cgroup: v2('/') },
    100: { ns: ns(500, 501), cgroup: v2('/kubepods/podA/ctr-a') },
    // Its child made a mount namespace of its own and a sub-cgroup (systemd in a container).
    101: { ns: ns(500, 901), cgroup: v2('/kubepods/podA/ctr-a/inner'), comm: 'worker' },
    // The pod's infra process and another pod's container are no one's here.
    102: { ns: ns(500, 502), cgroup: v2('/kubepods/podA') },
    200: { ns: ns(600, 601), cgroup: v2('/kubepods/podB/ctr-b') },
    // A host process with a name like a container's cgroup prefix is not in it.
    300: { ns: ns(1, 2), cgroup: v2('/kubepods/podA/ctr-a2') },
  });
  const m = readMembership(procRoot, [
    { id: 'a', pid: 100 },
    { id: 'b', pid: 200 },
  ]);
  assert.deepEqual(
    [...m.containerOf].sort(([x], [y]) => x - y),
    [
      [100, 'a'],
      [101, 'a'],
      [200, 'b'],
    ],
  );
  assert.deepEqual(
    m.others.get('a')?.map((p) => [p.pid, p.comm, p.namespaces.ok && p.namespaces.value.mnt]),
    [[101, 'worker', 901]],
  );
  assert.equal(m.others.get('b'), undefined);
});

test('membership: containers whose cgroup cannot be read attribute nothing but their init', async () => {
  const procRoot = await fakeProc({ 100: { ns: ns(5, 6), cgroup: v2('/') } });
  const m = readMembership(procRoot, [
    { id: 'a', pid: 100 },
    { id: 'gone', pid: 4242 },
  ]);
  assert.deepEqual(
    [...m.containerOf],
    [
      [100, 'a'],
      [4242, 'gone'],
    ],
  );
  assert.equal(m.others.size, 0);
});
