import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { inspect } from '../../src/inspect/inspect.js';
import { parseContainerInfo } from '../../src/cri/info.js';
import { mapContainerStatus, mapSandboxStatus } from '../../src/cri/mappers.js';
import type { WireContainerStatus, WirePodSandboxStatus } from '../../src/cri/wire.js';
import {
  idmappedAt,
  isSandboxed,
  observeGroups,
  observeProcMount,
  writableSubmounts,
} from '../../src/inspect/isolation.js';
import { parseIdMap, toInside, toOutside } from '../../src/procfs/idmap.js';
import { parseMountinfo } from '../../src/procfs/mountinfo.js';
import { ok } from '../../src/procfs/result.js';
import { parseStatusGroups } from '../../src/procfs/status.js';
import { buildReport } from '../../src/report/report.js';
import { fixture } from './fixtures.js';
import { HOST_NS, containerMounts, sample, sandbox, snapshot } from './snapshot.js';

/** The kernel's format (kernel/user_namespace.c uid_m_show: "%10u %10u %10u\n"). */
const USERNS_MAP = '         0  963641344      65536\n';
const HOST_MAP = '         0          0 4294967295\n';

test('uid_map and gid_map: ranges, identity, IDs both ways; anything else is malformed', () => {
  const map = parseIdMap(USERNS_MAP);
  assert.deepEqual(map, [{ inside: 0, outside: 963641344, length: 65536 }]);
  assert.deepEqual(parseIdMap(HOST_MAP), [{ inside: 0, outside: 0, length: 4294967295 }]);
  assert.equal(toOutside(map ?? [], 0), 963641344);
  assert.equal(toOutside(map ?? [], 65536), null);
  assert.equal(toInside(map ?? [], 963641344 + 1000), 1000);
  assert.equal(toInside(map ?? [], 5), null);
  assert.deepEqual(parseIdMap(''), []);
  for (const bad of ['0 0', 'a b c', '0 0 99999999999', '-1 0 1', '0 0 1 2'])
    assert.equal(parseIdMap(bad), null, bad);
  assert.equal(parseIdMap('0 0 1\n'.repeat(341)), null);
  fc.assert(
    fc.property(fc.string(), (s) => {
      const m = parseIdMap(s);
      return m === null || m.every((r) => r.length >= 0);
    }),
  );
});

test('status groups: Gid effective and Groups (empty too); malformed is null', () => {
  const status =
    'Name:\tsleep\nUid:\t1000\t1000\t1000\t1000\nGid:\t1000\t1001\t1000\t1000\nGroups:\t2000 3000 2000 \n';
  assert.deepEqual(parseStatusGroups(status), { gid: 1001, groups: [2000, 3000] });
  assert.deepEqual(parseStatusGroups('Gid:\t0\t0\t0\t0\nGroups:\t\n'), { gid: 0, groups: [] });
  assert.equal(parseStatusGroups('Gid:\t0\t0\t0\t0\n'), null);
  assert.equal(parseStatusGroups('Groups:\t1\n'), null);
  fc.assert(
    fc.property(fc.string(), (s) => {
      const g = parseStatusGroups(s);
      return (
        g === null ||
        (Number.isInteger(g.gid) && g.groups.every((x, i) => i === 0 || (g.groups[i - 1] ?? 0) < x))
      );
    }),
  );
});

test('groups: mapped back into the container, those not asked for are the image’s', () => {
  const userns = ok({
    gid: 963641344 + 1000,
    groups: [963641344 + 1000, 963641344 + 2000, 963641344 + 3000, 7],
    uidMap: [{ inside: 0, outside: 963641344, length: 65536 }],
    gidMap: [{ inside: 0, outside: 963641344, length: 65536 }],
  });
  assert.deepEqual(observeGroups(userns, { gid: 1000, supplementary: [3000] }), {
    gid: 1000,
    // A host group outside the map shows as the overflow group.
    supplementary: [1000, 2000, 3000, 65534],
    fromImage: [2000, 65534],
  });
  // CRI-O says nothing of what was asked: no fromImage.
  assert.deepEqual(observeGroups(ok({ gid: 0, groups: [0, 10] }), null), {
    gid: 0,
    supplementary: [0, 10],
  });
});

const PROC = [
  '20 10 0:51 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw',
  '21 10 0:52 / /dev rw,nosuid - tmpfs tmpfs rw,size=65536k',
];
const MASKS = [
  '30 20 0:51 /bus /proc/bus ro,nosuid,nodev,noexec,relatime - proc proc rw',
  '31 20 0:51 /sys /proc/sys ro,nosuid,nodev,noexec,relatime - proc proc rw',
  '32 20 0:51 /sysrq-trigger /proc/sysrq-trigger ro,nosuid,nodev,noexec,relatime - proc proc rw',
  '33 20 0:53 / /proc/acpi ro,relatime - tmpfs tmpfs ro',
  '34 20 0:52 /null /proc/kcore rw,nosuid - tmpfs tmpfs rw,size=65536k',
];

test('procMount: Default with the read-only and masked paths, Unmasked without any', () => {
  const table = (lines: string[]) => ok(parseMountinfo(containerMounts(lines)));
  assert.equal(observeProcMount(table([...PROC, ...MASKS])), 'Default');
  assert.equal(observeProcMount(table(PROC)), 'Unmasked');
  // Between the two, or no /proc at all: not guessed.
  assert.equal(observeProcMount(table([...PROC, MASKS[3] as string])), 'unknown');
  assert.equal(observeProcMount(table([])), 'unknown');
  // A read-only mount at /proc/sys that is not proc itself hides nothing of /proc.
  assert.equal(
    observeProcMount(table([...PROC, '35 20 0:80 / /proc/sys ro,relatime - tmpfs tmpfs ro'])),
    'unknown',
  );
  assert.equal(observeProcMount(null), 'unknown');
});

test('writable sub-mounts below a read-only volume: the top entry of each, the pod’s own left out', () => {
  const mounts = ok(
    parseMountinfo(
      containerMounts([
        '40 10 8:1 /host /h ro,relatime - ext4 /dev/a rw',
        '41 40 0:60 / /h/sub rw,relatime - tmpfs tmpfs rw',
        '42 40 0:61 / /h/ro ro,relatime - tmpfs tmpfs rw',
        '43 40 0:62 / /h/cache rw,relatime - tmpfs tmpfs rw',
        '44 40 0:63 / /h/later rw,relatime - tmpfs tmpfs rw',
        '45 44 0:63 / /h/later ro,relatime - tmpfs tmpfs rw',
      ]),
    ),
  );
  assert.deepEqual(writableSubmounts(mounts, '/h', ['/h', '/h/cache']), ['/h/sub']);
  assert.deepEqual(writableSubmounts(mounts, '/h/sub', []), []);
  // Below by parent, not by path: a mount the volume covers (made before it) is out of reach;
  // the runtime's own files are the container's; a path over PATH_MAX is cut to it.
  const long = `/e/${'d'.repeat(5000)}`;
  const covered = ok(
    parseMountinfo(
      containerMounts([
        '50 10 0:70 / /e/old rw,relatime - tmpfs tmpfs rw',
        '51 10 8:1 /etc /e ro,relatime - ext4 /dev/a rw',
        '52 51 8:1 /hosts /e/hostname rw,relatime - ext4 /dev/a rw',
        '53 51 8:1 /x /etc/hostname rw,relatime - ext4 /dev/a rw',
        `54 51 0:71 / ${long} rw,relatime - tmpfs tmpfs rw`,
      ]),
    ),
  );
  const below = writableSubmounts(covered, '/e', []);
  assert.deepEqual(
    below.map((p) => p.length),
    [4096, '/e/hostname'.length],
  );
  assert.ok(below[0]?.endsWith('…'));
});

const IDENTITY_HOST = { gid: 0, groups: [0] };
const IDENTITY_USERNS = {
  gid: 963641344,
  groups: [963641344],
  uidMap: [{ inside: 0, outside: 963641344, length: 65536 }],
  gidMap: [{ inside: 0, outside: 963641344, length: 65536 }],
};
const OWN_USER = { ...HOST_NS, net: 101, mnt: 102, pid: 103, ipc: 104, uts: 105, user: 900 };

test('NSR012 from the real mapping: root in its own user namespace is no finding; mapped to 0 it is', () => {
  const userns = sample('app', { uid: 0, ns: OWN_USER, identity: IDENTITY_USERNS });
  const [pod] = inspect(snapshot([sandbox([userns], { user: 'POD' })]));
  assert.deepEqual(pod?.findings, []);
  assert.deepEqual(pod?.containers[0]?.userNamespace?.rootUid, 963641344);
  const zero = sample('app', {
    uid: 0,
    ns: OWN_USER,
    identity: { ...IDENTITY_USERNS, uidMap: [{ inside: 0, outside: 0, length: 65536 }] },
  });
  const [mapped] = inspect(snapshot([sandbox([zero])]));
  assert.deepEqual(
    mapped?.findings.map((f) => f.id),
    ['NSR012'],
  );
  const host = sample('app', { uid: 0, identity: IDENTITY_HOST });
  assert.deepEqual(
    inspect(snapshot([sandbox([host])]))[0]?.findings.map((f) => f.id),
    ['NSR012'],
  );
});

test('NSR014: asked for its own user namespace, in the host’s', () => {
  const c = sample('app', { uid: 1000, identity: IDENTITY_HOST });
  const [pod] = inspect(snapshot([sandbox([c], { user: 'POD' })]));
  assert.deepEqual(
    pod?.findings.map((f) => [f.id, f.severity]),
    [['NSR014', 'high']],
  );
  const given = sample('app', { uid: 1000, ns: OWN_USER, identity: IDENTITY_USERNS });
  assert.deepEqual(inspect(snapshot([sandbox([given], { user: 'POD' })]))[0]?.findings, []);
});

test('NSR015: a writable sub-mount under a read-only volume; high when recursiveReadOnly was asked', () => {
  const mounts = containerMounts([
    '40 10 8:1 /host /h ro,relatime - ext4 /dev/a rw',
    '41 40 0:60 / /h/sub rw,relatime - tmpfs tmpfs rw',
  ]);
  const volume = {
    containerPath: '/h',
    hostPath: '/srv/host',
    readOnly: true,
    propagation: 'None' as const,
  };
  const c = sample('app', { uid: 1000, mounts: [volume], mountinfo: mounts });
  const [pod] = inspect(snapshot([sandbox([c])]));
  assert.deepEqual(
    pod?.findings.map((f) => [f.id, f.severity, f.message]),
    [['NSR015', 'medium', '/h: read-only but writable below it: /h/sub']],
  );
  const asked = sample('app', {
    uid: 1000,
    mounts: [{ ...volume, recursiveReadOnly: true }],
    mountinfo: mounts,
  });
  const [rro] = inspect(snapshot([sandbox([asked])]));
  assert.deepEqual(
    rro?.findings.map((f) => f.severity),
    ['high'],
  );
  assert.deepEqual(rro?.containers[0]?.mounts[0]?.writableSubmounts, ['/h/sub']);
});

test('NSR016: unmasked /proc in the host’s user namespace; none in its own', () => {
  const unmasked = containerMounts(PROC);
  const root = sample('app', { uid: 0, mountinfo: unmasked, identity: IDENTITY_HOST });
  const ids = (s: ReturnType<typeof sample>, user?: 'POD') =>
    inspect(snapshot([sandbox([s], user ? { user } : {})]))[0]?.findings.map((f) => [
      f.id,
      f.severity,
    ]);
  assert.deepEqual(ids(root), [
    ['NSR012', 'low'],
    ['NSR016', 'critical'],
  ]);
  const user = sample('app', { uid: 1000, mountinfo: unmasked, identity: IDENTITY_HOST });
  assert.deepEqual(ids(user), [['NSR016', 'high']]);
  const nested = sample('app', {
    uid: 0,
    ns: OWN_USER,
    mountinfo: unmasked,
    identity: IDENTITY_USERNS,
  });
  assert.deepEqual(ids(nested, 'POD'), []);
  // Its own user namespace that maps 0 to 0 is the host's root all the same.
  const mirrored = sample('app', {
    uid: 0,
    ns: OWN_USER,
    mountinfo: unmasked,
    identity: { ...IDENTITY_USERNS, uidMap: [{ inside: 0, outside: 0, length: 4294967295 }] },
  });
  assert.deepEqual(ids(mirrored, 'POD'), [
    ['NSR012', 'low'],
    ['NSR014', 'high'],
    ['NSR016', 'critical'],
  ]);
  // A privileged container's /proc is unmasked by definition: NSR009 says it, not procMount.
  const priv = sample('app', {
    uid: 0,
    privileged: true,
    mountinfo: unmasked,
    identity: IDENTITY_HOST,
  });
  const [p] = inspect(snapshot([sandbox([priv])]));
  assert.ok(p);
  assert.equal(buildReport(p, null).report.containers[0]?.procMount, undefined);
  assert.equal(
    inspect(snapshot([sandbox([nested], { user: 'POD' })]))[0]?.containers[0]?.procMount,
    'Unmasked',
  );
});

test('the report says the new fields only when they are not the default; a plain pod’s stays ≤ 3 KiB', () => {
  const plain = sample('app', {
    uid: 1000,
    mountinfo: containerMounts([...PROC, ...MASKS]),
    identity: { gid: 1000, groups: [1000] },
    declaredGroups: { gid: 1000, supplementary: [] },
  });
  const [pod] = inspect(snapshot([sandbox([plain])]));
  assert.ok(pod);
  const report = buildReport(pod, null);
  const c = report.report.containers[0];
  for (const key of ['userNamespace', 'procMount', 'groups'])
    assert.equal(key in (c ?? {}), false, key);
  assert.equal('user' in report.report.declared, false);
  assert.equal('runtimeHandler' in report.report.sandbox, false);
  assert.ok(JSON.stringify(report).length <= 3 * 1024, String(JSON.stringify(report).length));

  const userns = sample('app', {
    uid: 0,
    ns: OWN_USER,
    mountinfo: containerMounts([...PROC, ...MASKS]),
    identity: { ...IDENTITY_USERNS, groups: [963641344, 963641344 + 2000] },
    declaredGroups: { gid: null, supplementary: [] },
  });
  const [u] = inspect(snapshot([sandbox([userns], { user: 'POD', runtimeHandler: 'runc' })]));
  assert.ok(u);
  const r = buildReport(u, null).report;
  assert.deepEqual(r.declared.user, 'POD');
  assert.equal(r.sandbox.runtimeHandler, 'runc');
  assert.deepEqual(r.containers[0]?.userNamespace, {
    uidMap: [{ inside: 0, outside: 963641344, length: 65536 }],
    gidMap: [{ inside: 0, outside: 963641344, length: 65536 }],
    rootUid: 963641344,
  });
  assert.deepEqual(r.containers[0]?.groups, {
    gid: 0,
    supplementary: [0, 2000],
    fromImage: [2000],
  });
});

test('hostile groups and maps: a process with 65536 groups and 340 ranges still makes a report the CRD takes', () => {
  const many = Array.from({ length: 65536 }, (_, i) => i);
  const ranges = Array.from({ length: 340 }, (_, i) => ({
    inside: i,
    outside: 100000 + i,
    length: 1,
  }));
  const c = sample('app', {
    uid: 1000,
    ns: OWN_USER,
    identity: {
      gid: 100000,
      groups: many.map((g) => 100000 + (g % 340)),
      uidMap: ranges,
      gidMap: ranges,
    },
    declaredGroups: { gid: null, supplementary: [] },
  });
  const [pod] = inspect(snapshot([sandbox([c])]));
  assert.ok(pod);
  const r = buildReport(pod, null).report;
  const out = r.containers[0];
  assert.equal(out?.userNamespace?.uidMap.length, 8);
  assert.equal(out?.groups?.supplementary.length, 64);
  assert.ok((out?.groups?.fromImage?.length ?? 0) <= 64);
  assert.equal(r.truncated, true);
});

// --- captures from a kubelet-made node (test/fixtures/isolation/README.md) ---

const captured = (pod: string, file: string, dir = 'isolation') => fixture(`${dir}/${pod}/${file}`);
const table = (pod: string, dir?: string) => ok(parseMountinfo(captured(pod, 'mountinfo', dir)));

test('captured: the uid_map of hostUsers: false, the host’s identity map, and Groups lines', () => {
  assert.deepEqual(parseIdMap(captured('userns', 'uid_map')), [
    { inside: 0, outside: 4126408704, length: 65536 },
  ]);
  assert.deepEqual(parseIdMap(fixture('isolation/host-uid_map')), [
    { inside: 0, outside: 0, length: 4294967295 },
  ]);
  assert.deepEqual(
    parseStatusGroups(captured('groups', 'status'))?.groups,
    [1000, 2000, 3000, 4000],
  );
  assert.deepEqual(
    parseStatusGroups(captured('groups-strict', 'status'))?.groups,
    [1000, 3000, 4000],
  );
});

test('captured: idmapped mounts by their per-mount options, not the rootfs overlay’s lowerdir', () => {
  const t = table('userns');
  assert.match(captured('userns', 'mountinfo'), /ovl-idmapped/);
  for (const at of [
    '/scratch',
    '/h',
    '/etc/hosts',
    '/var/run/secrets/kubernetes.io/serviceaccount',
  ])
    assert.equal(idmappedAt(t, at), true, at);
  for (const at of ['/', '/h/sub', '/proc']) assert.equal(idmappedAt(t, at), false, at);
  assert.equal(idmappedAt(table('plain'), '/etc/hosts'), false);
});

test('captured: /proc masked by default (tmpfs or devtmpfs /null binds), unmasked as asked', () => {
  assert.equal(observeProcMount(table('plain')), 'Default');
  assert.equal(observeProcMount(table('userns')), 'Default');
  assert.equal(observeProcMount(table('unmasked')), 'Unmasked');
  assert.equal(observeProcMount(table('plain', 'isolation/containerd-1.6')), 'Default');
});

test('captured: the sub-mount under a read-only hostPath, read-only with rro, writable without', () => {
  assert.deepEqual(writableSubmounts(table('rro-off'), '/h', []), ['/h/sub']);
  assert.deepEqual(writableSubmounts(table('rro-enabled'), '/h', []), []);
  assert.deepEqual(writableSubmounts(table('rro-off', 'isolation/containerd-1.6'), '/h', []), [
    '/h/sub',
  ]);
});

/** The upstream proto's snake_case JSON (the capture) as proto-loader's camelCase. */
function camel(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(camel);
  if (typeof v !== 'object' || v === null) return v;
  return Object.fromEntries(
    Object.entries(v).map(([k, x]) => [
      k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()),
      camel(x),
    ]),
  );
}

test('captured CRI: userns_options mode POD (NODE without it), recursive_read_only, the groups asked', () => {
  const status = (pod: string) =>
    (camel(JSON.parse(captured(pod, 'sandbox.raw.json'))) as { status: WirePodSandboxStatus })
      .status;
  assert.equal(mapSandboxStatus(status('userns')).declared.user, 'POD');
  assert.equal(mapSandboxStatus(status('plain')).declared.user, 'NODE');
  // containerd 1.6 has no userns_options: nothing is said.
  const c16 = camel(
    JSON.parse(captured('plain', 'sandbox.raw.json', 'isolation/containerd-1.6')),
  ) as {
    status: WirePodSandboxStatus;
  };
  assert.equal('user' in mapSandboxStatus(c16.status).declared, false);
  const container = (pod: string) =>
    camel(JSON.parse(captured(pod, 'container.raw.json'))) as {
      status: WireContainerStatus;
      info: { info: unknown };
    };
  const rro = container('rro-enabled');
  const mounts = mapContainerStatus('c', rro.status, parseContainerInfo({})).mounts;
  assert.equal(mounts.find((m) => m.containerPath === '/h')?.recursiveReadOnly, true);
  const off = mapContainerStatus('c', container('rro-off').status, parseContainerInfo({})).mounts;
  assert.equal(off.find((m) => m.containerPath === '/h')?.recursiveReadOnly, undefined);
  // The verbose info is containerd's JSON as it is (not re-cased): the config's groups.
  const raw = JSON.parse(captured('groups', 'container.raw.json')) as { info: { info: unknown } };
  assert.deepEqual(parseContainerInfo({ info: JSON.stringify(raw.info.info) }).declaredGroups, {
    gid: 1000,
    supplementary: [3000, 4000],
  });
});

test('sandboxed runtimes: by containerd’s shim type whatever the handler is named, else by the name', () => {
  assert.equal(isSandboxed('gvisor-debug', 'io.containerd.runsc.v1'), true);
  assert.equal(isSandboxed('vm', 'io.containerd.kata-qemu.v2'), true);
  assert.equal(isSandboxed('fc', 'aws.firecracker'), true);
  assert.equal(isSandboxed('runsc', undefined), true);
  assert.equal(isSandboxed('kata-clh', undefined), true);
  assert.equal(isSandboxed('', 'io.containerd.runc.v2'), false);
  assert.equal(isSandboxed('runc', undefined), false);
  // A name only like one: not a sandbox.
  assert.equal(isSandboxed('runsc-not', 'io.containerd.runc.v2'), false);
});
