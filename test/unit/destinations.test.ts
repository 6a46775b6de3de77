import assert from 'node:assert/strict';
import { mkdir, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { createDestinationResolver } from '../../src/collect/destinations.js';
import { createPathResolver, type PathResolver } from '../../src/collect/resolver.js';
import type { ContainerDetail } from '../../src/cri/types.js';
import { parseMountinfo } from '../../src/procfs/mountinfo.js';
import { fakeProc } from './fixtures.js';

// A Debian-like container: the token declared at /var/run/secrets/… is mounted at /run/secrets/…
// (the image links /var/run to /run); /data is mounted where declared. Mount tables as the
// kernel writes them (major:minor, root within the fs, mount point).
const TOKEN = '/var/lib/kubelet/pods/u1/volumes/kubernetes.io~projected/kube-api-access-x';
const containerMountinfo = [
  '900 800 0:60 / / rw,relatime - overlay overlay rw',
  '901 900 8:1 /srv/data /data rw,relatime - ext4 /dev/sda1 rw',
  '902 900 0:61 / /run/secrets/kubernetes.io/serviceaccount ro,relatime - tmpfs tmpfs rw',
  '',
].join('\n');
const hostMounts = parseMountinfo(
  [
    '1 0 8:1 / / rw,relatime - ext4 /dev/sda1 rw',
    `77 1 0:61 / ${TOKEN} rw,relatime - tmpfs tmpfs rw`,
    '',
  ].join('\n'),
);

function detail(pid: number, mounts: [string, string][]): ContainerDetail {
  return {
    id: 'c1',
    state: 'running',
    pid,
    createdAt: 0,
    startedAt: 0,
    image: null,
    imageAsWritten: false,
    privileged: false,
    uid: null,
    rootfsPropagation: null,
    declaredGroups: null,
    hostPorts: [],
    mounts: mounts.map(([containerPath, hostPath]) => ({
      containerPath,
      hostPath,
      readOnly: false,
      propagation: 'None',
    })),
  };
}

function countingWalker(answer: Awaited<ReturnType<PathResolver['resolve']>>): PathResolver & {
  calls: string[][];
} {
  const w = {
    calls: [] as string[][],
    resolve(_pid: number, paths: readonly string[]) {
      w.calls.push([...paths]);
      return Promise.resolve(answer);
    },
  };
  return w;
}

test('destinations placed from the mount tables alone: no lookup in the container', async () => {
  const procRoot = await fakeProc({ 200: { mountinfo: containerMountinfo } });
  const walker = countingWalker({ ok: false, error: 'must not be asked' });
  const d = createDestinationResolver({ procRoot, now: () => 0, walker });
  const r = await d.resolve(
    'c1',
    detail(200, [
      ['/data', '/srv/data'],
      ['/var/run/secrets/kubernetes.io/serviceaccount', TOKEN],
    ]),
    hostMounts,
  );
  assert.equal(r.error, null);
  assert.deepEqual(
    [...r.resolved],
    [
      ['/data', '/data'],
      [
        '/var/run/secrets/kubernetes.io/serviceaccount',
        '/run/secrets/kubernetes.io/serviceaccount',
      ],
    ],
  );
  assert.deepEqual(walker.calls, []);
});

test('a destination the tables cannot place is walked; a walk that does not finish is an error, tried again later', async () => {
  const procRoot = await fakeProc({ 200: { mountinfo: containerMountinfo } });
  let t = 0;
  const walker = countingWalker({ ok: false, error: 'not resolved within 2000 ms' });
  const d = createDestinationResolver({ procRoot, now: () => t, walker, retryMs: 1000 });
  const unmounted = detail(200, [
    ['/data', '/srv/data'],
    ['/var/log/app', '/var/log/pods/x'],
  ]);
  const first = await d.resolve('c1', unmounted, hostMounts);
  assert.match(first.error ?? '', /not resolved within/);
  assert.equal(first.resolved.get('/var/log/app'), '/var/log/app');
  assert.equal(first.resolved.get('/data'), '/data');
  assert.deepEqual(walker.calls, [['/var/log/app']]);
  t = 500;
  assert.match((await d.resolve('c1', unmounted, hostMounts)).error ?? '', /not resolved/);
  assert.equal(walker.calls.length, 1, 'not walked again before the retry');
  t = 1500;
  await d.resolve('c1', unmounted, hostMounts);
  assert.equal(walker.calls.length, 2);
});

test('the walk runs in a child process: it resolves links in the root, and is killed at its deadline', async () => {
  const procRoot = await fakeProc({ 300: {} });
  const root = join(procRoot, '300', 'root');
  await mkdir(join(root, 'run', 'secrets'), { recursive: true });
  await mkdir(join(root, 'var'), { recursive: true });
  await symlink('../run', join(root, 'var', 'run'));
  const walker = createPathResolver({ procRoot, timeoutMs: 10_000 });
  const ok = await walker.resolve(300, ['/var/run/secrets/token', '/etc/hosts']);
  assert.deepEqual(ok, {
    ok: true,
    value: new Map([
      ['/var/run/secrets/token', '/run/secrets/token'],
      ['/etc/hosts', '/etc/hosts'],
    ]),
  });
  const late = await createPathResolver({ procRoot, timeoutMs: 1 }).resolve(300, ['/var/run']);
  assert.deepEqual(late, {
    ok: false,
    error: 'mount destinations not resolved within 1 ms (a volume that does not answer?)',
  });
});
