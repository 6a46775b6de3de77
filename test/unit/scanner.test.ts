import assert from 'node:assert/strict';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { buildReport } from '../../src/report/report.js';
import { createScanner } from '../../src/collect/scanner.js';
import { CriError } from '../../src/cri/errors.js';
import type { ContainerDetail, ContainerSummary, SandboxSummary } from '../../src/cri/types.js';
import type { PodInspection } from '../../src/inspect/types.js';
import { fakeRuntime } from './fake-runtime.js';
import { BOOT_TIME_S, fakeProc, netFixture } from './fixtures.js';

const sb = (id: string, name: string): SandboxSummary => ({
  id,
  pod: { name, namespace: 'ns', uid: `uid-${name}` },
  state: 'ready',
  createdAt: 1,
  labels: {},
  annotations: {},
  static: false,
  runtimeHandler: '',
});
const ct = (id: string, sandboxId: string, name: string): ContainerSummary => ({
  id,
  sandboxId,
  name,
  image: 'img',
  state: 'running',
  createdAt: 1,
});
const NO_SPEC = {
  imageAsWritten: false,
  uid: null,
  rootfsPropagation: null,
  declaredGroups: null,
  hostPorts: [],
  state: 'running',
  createdAt: 0,
  startedAt: 0,
} as const;
const podNs = { net: 500, mnt: 501, pid: 502, ipc: 503, uts: 504, user: 6, cgroup: 7, time: 8 };
const hostNs = { net: 1, mnt: 2, pid: 3, ipc: 4, uts: 5, user: 6, cgroup: 7, time: 8 };
const mountinfo = '1 0 8:1 / / rw - ext4 /dev/a rw\n';

test('one bad container never stops a scan; a steady rescan makes no status calls', async () => {
  const procRoot = await fakeProc({
    1: { ns: hostNs, mountinfo, net: netFixture('host') },
    200: { ns: podNs, mountinfo, net: netFixture('pod'), fds: { '3': 'socket:[17503]' } },
  });
  const runtime = fakeRuntime(
    [sb('s1', 'good'), sb('s2', 'bad')],
    [ct('c1', 's1', 'web'), ct('c2', 's2', 'broken'), ct('c3', 's2', 'vanished')],
    {
      c1: { id: 'c1', pid: 200, mounts: [], image: null, privileged: false, ...NO_SPEC },
      c2: new CriError({
        kind: 'not-found',
        method: 'ContainerStatus',
        endpoint: 'fake',
        detail: 'gone',
      }),
      c3: { id: 'c3', pid: 999, mounts: [], image: null, privileged: false, ...NO_SPEC },
    },
  );
  const scanner = createScanner({
    runtime,
    procRoot,
    hostPid: 1,
    node: 'n1',
    networkMaxAgeMs: 60_000,
  });
  const first = await scanner.scan();
  assert.deepEqual(first.warnings, []);
  const good = first.pods.find((p) => p.pod.name === 'good')!;
  assert.deepEqual(good.network.listeners, [
    { protocol: 'tcp6', address: '::', port: 8080, container: 'web', containerId: 'c1' },
  ]);
  assert.equal(good.hostNamespaces.network, 'false');
  const bad = first.pods.find((p) => p.pod.name === 'bad')!;
  const broken = bad.containers.find((c) => c.name === 'broken')!;
  assert.match(broken.error ?? '', /ContainerStatus/);
  const vanished = bad.containers.find((c) => c.name === 'vanished')!;
  assert.match(vanished.error ?? '', /namespaces: gone/);
  assert.equal(first.stats.networkReads, 1);

  const callsAfterFirst = { ...runtime.calls };
  const second = await scanner.scan();
  // The failed ContainerStatus is retried; the good ones come from the cache.
  assert.equal(runtime.calls.ContainerStatus, (callsAfterFirst.ContainerStatus ?? 0) + 1);
  assert.equal(runtime.calls.PodSandboxStatus, callsAfterFirst.PodSandboxStatus);
  assert.equal(
    second.stats.networkReads,
    0,
    'pod network namespaces are reused within their max age',
  );
  assert.deepEqual(
    second.pods.find((p) => p.pod.name === 'good'),
    good,
  );
});

test('an unreadable host reference is a warning and unknown sharing, not a failure', async () => {
  const procRoot = await fakeProc({ 200: { ns: podNs, mountinfo, net: netFixture('pod') } });
  const runtime = fakeRuntime([sb('s1', 'p')], [ct('c1', 's1', 'app')], {
    c1: { id: 'c1', pid: 200, mounts: [], image: null, privileged: false, ...NO_SPEC },
  });
  const scanner = createScanner({ runtime, procRoot, hostPid: 1, node: 'n1', networkMaxAgeMs: 0 });
  const r = await scanner.scan();
  assert.equal(r.warnings.length, 1);
  assert.match(r.warnings[0] ?? '', /--host-pid/);
  assert.equal(r.pods[0]?.hostNamespaces.network, 'unknown');
});

test('a runtime that cannot be listed rejects the scan with the CriError', async () => {
  const runtime = fakeRuntime([], [], {});
  runtime.listSandboxes = () =>
    Promise.reject(
      new CriError({
        kind: 'unavailable',
        method: 'ListPodSandbox',
        endpoint: 'fake',
        detail: 'down',
      }),
    );
  const scanner = createScanner({
    runtime,
    procRoot: '/nonexistent',
    hostPid: 1,
    node: 'n',
    networkMaxAgeMs: 0,
  });
  await assert.rejects(
    scanner.scan(),
    (err: unknown) => err instanceof CriError && err.kind === 'unavailable',
  );
});

test("a PID is the container's only while it runs and its process is the one the container started", async () => {
  const s = (sec: number): number => (BOOT_TIME_S + sec) * 1e9;
  const procRoot = await fakeProc({
    1: { ns: hostNs, mountinfo, net: netFixture('host') },
    // Started 100 s after boot, between its container's create (99 s) and start (100.5 s).
    200: { ns: podNs, mountinfo, net: netFixture('pod'), startTicks: 10_000 },
    // A later process that got the PID of one that exited: started at 500 s.
    300: { ns: hostNs, mountinfo, startTicks: 50_000 },
    400: { ns: hostNs, mountinfo, startTicks: 60_000 },
  });
  const times = { createdAt: s(99), startedAt: s(100.5) };
  const runtime = fakeRuntime(
    [sb('s1', 'p')],
    [
      ct('c1', 's1', 'app'),
      ct('c2', 's1', 'reused'),
      { ...ct('c3', 's1', 'done'), state: 'exited' },
    ],
    {
      c1: { id: 'c1', pid: 200, mounts: [], image: null, privileged: false, ...NO_SPEC, ...times },
      c2: { id: 'c2', pid: 300, mounts: [], image: null, privileged: false, ...NO_SPEC, ...times },
      // CRI-O keeps an exited container's PID in its verbose status.
      c3: {
        id: 'c3',
        pid: 400,
        mounts: [],
        image: null,
        privileged: false,
        ...NO_SPEC,
        ...times,
        state: 'exited',
      },
    },
  );
  const scanner = createScanner({ runtime, procRoot, hostPid: 1, node: 'n1', networkMaxAgeMs: 0 });
  const pod = (await scanner.scan()).pods[0];
  const byName = new Map(pod?.containers.map((c) => [c.name, c]));
  assert.equal(byName.get('app')?.pid, 200);
  assert.equal(byName.get('app')?.state, 'running');
  assert.equal(byName.get('reused')?.pid, 0);
  assert.equal(byName.get('reused')?.state, 'unknown');
  assert.match(byName.get('reused')?.error ?? '', /PID 300 is not the container's process/);
  assert.equal(byName.get('done')?.pid, 0);
  assert.equal(byName.get('done')?.state, 'exited');
  // Nothing of the host leaks in through the stale PID: the pod is not on the host network.
  assert.equal(pod?.hostNamespaces.network, 'false');
});

test("a container's processes are found by cgroup: one in the host's or another pod's namespaces is NSR013; a listener follows its cgroup whatever mount namespace holds it", async () => {
  const cg = (path: string): string => `0::${path}\n`;
  const edgeNs = { ...hostNs, mnt: 401 };
  const procRoot = await fakeProc({
    1: { ns: hostNs, mountinfo, net: netFixture('host'), cgroup: cg('/') },
    200: { ns: podNs, mountinfo, net: netFixture('pod'), cgroup: cg('/pods/p/c1') },
    // nsenter'd into the node from the container: the host's mount and network namespaces.
    201: { ns: { ...podNs, net: 1, mnt: 2 }, cgroup: cg('/pods/p/c1'), comm: 'sh' },
    // unshare'd a mount namespace of its own: nobody else's, not an escape.
    202: { ns: { ...podNs, mnt: 999 }, cgroup: cg('/pods/p/c1') },
    // joined another pod's network namespace.
    203: { ns: { ...podNs, net: 700 }, cgroup: cg('/pods/p/c1/sub'), comm: 'spy' },
    300: { ns: { ...podNs, net: 700, mnt: 701 }, mountinfo, cgroup: cg('/pods/o/c2') },
    // A hostNetwork pod whose listener process made its own mount namespace.
    400: { ns: edgeNs, mountinfo, net: netFixture('host'), cgroup: cg('/pods/e/c3') },
    402: { ns: { ...edgeNs, mnt: 902 }, cgroup: cg('/pods/e/c3'), fds: { '5': 'socket:[17416]' } },
  });
  const detail = (id: string, pid: number): ContainerDetail => ({
    id,
    pid,
    mounts: [],
    image: null,
    privileged: false,
    ...NO_SPEC,
  });
  const runtime = fakeRuntime(
    [sb('s1', 'p'), sb('s2', 'o'), sb('s3', 'edge')],
    [ct('c1', 's1', 'app'), ct('c2', 's2', 'other'), ct('c3', 's3', 'server')],
    { c1: detail('c1', 200), c2: detail('c2', 300), c3: detail('c3', 400) },
  );
  const scanner = createScanner({ runtime, procRoot, hostPid: 1, node: 'n1', networkMaxAgeMs: 0 });
  const r = await scanner.scan();
  const pod = (name: string): PodInspection | undefined => r.pods.find((p) => p.pod.name === name);
  assert.deepEqual(pod('p')?.containers[0]?.escaped, [
    { pid: 201, comm: 'sh', namespace: 'net', into: 'host' },
    { pid: 201, comm: 'sh', namespace: 'mnt', into: 'host' },
    { pid: 203, comm: 'spy', namespace: 'net', into: 'ns/o' },
  ]);
  assert.deepEqual(
    pod('p')
      ?.findings.filter((f) => f.id === 'NSR013')
      .map((f) => [f.severity, f.message]),
    [
      ['critical', "process 201 (sh) is in the host's net, mnt namespaces, not its container's"],
      ['critical', "process 203 (spy) is in pod ns/o's net namespace, not its container's"],
    ],
  );
  assert.equal(pod('o')?.containers[0]?.escaped, undefined);
  assert.deepEqual(
    pod('edge')?.network.listeners.map((l) => [l.port, l.container]),
    [[39180, 'server']],
  );
  // A steady rescan says the same.
  assert.deepEqual((await scanner.scan()).pods, r.pods);
});

test('a pod none of whose containers runs keeps its network namespace: through its infra process, or the one its runtime pinned', async () => {
  const s = (sec: number): number => (BOOT_TIME_S + sec) * 1e9;
  const procRoot = await fakeProc({
    1: { ns: hostNs, mountinfo, net: netFixture('host') },
    // containerd's pause process of `paused`, started with its sandbox (at 50 s).
    600: { ns: { ...podNs, net: 610 }, net: netFixture('pod'), startTicks: 5_000 },
  });
  // CRI-O without an infra process: the namespace pinned by pinns, as the host's root sees it.
  await mkdir(join(procRoot, '1', 'root', 'run', 'netns'), { recursive: true });
  await writeFile(join(procRoot, '1', 'root', 'run', 'netns', 'pinned-1'), '');
  const pinnedInode = (await stat(join(procRoot, '1', 'root', 'run', 'netns', 'pinned-1'))).ino;
  const sandboxes = [
    { ...sb('s1', 'paused'), createdAt: s(49.5) },
    { ...sb('s2', 'spoofed'), createdAt: s(60) },
    { ...sb('s3', 'reused'), createdAt: s(-100) },
  ];
  const runtime = fakeRuntime(sandboxes, [{ ...ct('c1', 's1', 'job'), state: 'exited' }], {
    c1: {
      id: 'c1',
      pid: 0,
      mounts: [],
      image: null,
      privileged: false,
      ...NO_SPEC,
      state: 'exited',
    },
  });
  const infra: Record<string, { infraPid: number; netnsPath: string | null }> = {
    s1: { infraPid: 600, netnsPath: '/run/netns/cni-1' },
    s2: { infraPid: 0, netnsPath: '/run/netns/pinned-1' },
    // Its pause process exited and a later process got PID 600: not its namespace.
    s3: { infraPid: 600, netnsPath: null },
  };
  const status = runtime.sandboxStatus.bind(runtime);
  runtime.sandboxStatus = async (id) => ({ ...(await status(id)), ...infra[id] });
  const scanner = createScanner({ runtime, procRoot, hostPid: 1, node: 'n1', networkMaxAgeMs: 0 });
  const pods = new Map((await scanner.scan()).pods.map((p) => [p.pod.name, p]));
  assert.equal(pods.get('paused')?.network.netns, 610);
  assert.equal(pods.get('paused')?.hostNamespaces.network, 'false');
  assert.ok(
    (pods.get('paused')?.network.interfaces.length ?? 0) > 0,
    'read through the infra process',
  );
  assert.equal(pods.get('spoofed')?.network.netns, pinnedInode);
  assert.equal(pods.get('spoofed')?.hostNamespaces.network, 'false');
  assert.equal(pods.get('reused')?.network.netns, null);
  assert.equal(pods.get('reused')?.hostNamespaces.network, 'unknown');
});

test('a pod whose identity cannot name a report is a warning naming its sandbox; the rest goes on', async () => {
  const procRoot = await fakeProc({
    1: { ns: hostNs, mountinfo, net: netFixture('host') },
    200: { ns: podNs, mountinfo, net: netFixture('pod') },
  });
  const odd = (id: string, pod: Partial<SandboxSummary['pod']>): SandboxSummary => ({
    ...sb(id, 'x'),
    pod: { ...sb(id, 'x').pod, ...pod },
  });
  const runtime = fakeRuntime(
    [
      sb('s1', 'good'),
      odd('s2', { name: '' }),
      odd('s3', { namespace: '' }),
      odd('s4', { name: 'Not/A Name\n' }),
      odd('s5', { namespace: 'a'.repeat(64) }),
    ],
    [ct('c1', 's1', 'web'), ct('c2', 's2', 'web')],
    {
      c1: { id: 'c1', pid: 200, mounts: [], image: null, privileged: false, ...NO_SPEC },
      c2: { id: 'c2', pid: 200, mounts: [], image: null, privileged: false, ...NO_SPEC },
    },
  );
  const scanner = createScanner({ runtime, procRoot, hostPid: 1, node: 'n1', networkMaxAgeMs: 0 });
  const r = await scanner.scan();
  assert.deepEqual(
    r.pods.map((p) => p.pod.name),
    ['good'],
  );
  assert.deepEqual(r.warnings.sort(), [
    'sandbox "s2": pod name "" is not a Kubernetes object name (DNS-1123 subdomain): no report',
    'sandbox "s3": pod namespace "" is not a Kubernetes namespace name (DNS-1123 label): no report',
    'sandbox "s4": pod name "Not/A Name\n" is not a Kubernetes object name (DNS-1123 subdomain): no report',
    `sandbox "s5": pod namespace "${'a'.repeat(64)}" is not a Kubernetes namespace name (DNS-1123 label): no report`,
  ]);
});

/** Text a runtime or a kernel could hand over at its worst: empty, huge, binary, near-valid. */
const hostileText = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.constantFrom(
    '',
    '0',
    '-1',
    '4294967296',
    '9'.repeat(30),
    'net:[',
    '/',
    '\n\n',
    'x'.repeat(5000),
  ),
);

test('whatever the runtime and procfs say, a scan resolves and every pod makes a report', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.record({
        name: hostileText,
        namespace: fc.oneof(hostileText, fc.constant('ns')),
        uid: hostileText,
        image: hostileText,
        pid: fc.oneof(fc.constant(200), fc.integer(), fc.constant(Number.MAX_SAFE_INTEGER)),
        hostPath: hostileText,
        containerPath: hostileText,
        mountinfo: hostileText,
        netns: hostileText,
        net: hostileText,
        stat: hostileText,
      }),
      async (h) => {
        // A link target is any text but NUL, not empty, under PATH_MAX: what readlink can give back.
        const link = h.netns.replace(/\0/g, '').slice(0, 4000) || 'x';
        const procRoot = await fakeProc({
          1: { ns: hostNs, mountinfo: h.mountinfo, net: { dev: h.net, tcp: h.net } },
          200: {
            // A namespace link whose inode is garbage: `net:[<text>]`.
            ns: { ...podNs, net: link as unknown as number },
            mountinfo: h.mountinfo,
            net: { dev: h.net, fib_trie: h.net, route: h.net, if_inet6: h.net, tcp6: h.net },
            fds: { '3': link },
            comm: h.stat,
          },
        });
        const sandboxes = [
          { ...sb('s1', 'p'), pod: { name: h.name, namespace: h.namespace, uid: h.uid } },
        ];
        const detail: ContainerDetail = {
          id: 'c1',
          pid: h.pid,
          mounts: [
            {
              containerPath: h.containerPath,
              hostPath: h.hostPath,
              readOnly: false,
              propagation: 'Bidirectional',
            },
          ],
          image: h.image,
          privileged: null,
          ...NO_SPEC,
          createdAt: h.pid,
        };
        const runtime = fakeRuntime(sandboxes, [{ ...ct('c1', 's1', h.name), image: h.image }], {
          c1: detail,
        });
        const scanner = createScanner({
          runtime,
          procRoot,
          hostPid: 1,
          node: 'n1',
          networkMaxAgeMs: 0,
        });
        const r = await scanner.scan();
        for (const p of r.pods) assert.ok(JSON.stringify(buildReport(p, null)).length > 0);
      },
    ),
    { numRuns: 40 },
  );
});

test('isolation through procfs: a user namespace’s maps and groups read once; a sandboxed handler’s PID is not read', async () => {
  const userns = { ...podNs, user: 900 };
  const procRoot = await fakeProc({
    1: { ns: hostNs, mountinfo, net: netFixture('host') },
    200: {
      ns: userns,
      mountinfo,
      net: netFixture('pod'),
      status:
        'Name:\tsleep\nGid:\t963641344\t963641344\t963641344\t963641344\nGroups:\t963641344 963643344\n',
      uidMap: '         0  963641344      65536\n',
      gidMap: '         0  963641344      65536\n',
    },
    // gVisor's sandbox process: in the host's namespaces, say; none of it is the container's.
    300: { ns: hostNs, mountinfo, net: netFixture('host'), comm: 'exe' },
  });
  const spec = { mounts: [], image: null, privileged: false, ...NO_SPEC, uid: 0 };
  const runtime = fakeRuntime(
    [sb('s1', 'userns'), { ...sb('s2', 'gvisor'), runtimeHandler: 'runsc' }],
    [ct('c1', 's1', 'app'), ct('c2', 's2', 'app')],
    {
      c1: { id: 'c1', pid: 200, ...spec, declaredGroups: { gid: null, supplementary: [] } },
      c2: { id: 'c2', pid: 300, ...spec },
    },
  );
  const scanner = createScanner({ runtime, procRoot, hostPid: 1, node: 'n1', networkMaxAgeMs: 0 });
  const r = await scanner.scan();
  const u = r.pods.find((p) => p.pod.name === 'userns')?.containers[0];
  assert.deepEqual(u?.userNamespace, {
    uidMap: [{ inside: 0, outside: 963641344, length: 65536 }],
    gidMap: [{ inside: 0, outside: 963641344, length: 65536 }],
    rootUid: 963641344,
  });
  assert.deepEqual(u?.groups, { gid: 0, supplementary: [0, 2000], fromImage: [2000] });
  assert.equal(u?.error, undefined);
  // Its root is not the node's: no NSR012.
  assert.deepEqual(r.pods.find((p) => p.pod.name === 'userns')?.findings, []);

  const g = r.pods.find((p) => p.pod.name === 'gvisor');
  assert.equal(g?.sandbox.runtimeHandler, 'runsc');
  assert.equal(g?.containers[0]?.sandboxed, true);
  assert.deepEqual(g?.containers[0]?.namespaces, {});
  assert.equal(g?.hostNamespaces.network, 'unknown');
  assert.deepEqual(g?.findings, []);
  assert.ok(g);
  const report = buildReport(g, null).report;
  assert.equal(report.containers[0]?.sandboxed, true);
  assert.equal(report.network.netns, null);

  // The maps and groups are the process's start's: not read again while it runs.
  await writeFile(join(procRoot, '200', 'status'), 'garbage');
  const again = await scanner.scan();
  assert.deepEqual(
    again.pods.find((p) => p.pod.name === 'userns')?.containers[0]?.groups,
    u?.groups,
  );
});
