import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isLoopback, sensitivity } from '../../src/inspect/findings.js';
import { inspect } from '../../src/inspect/inspect.js';
import { buildReport, contentHash, LIMITS } from '../../src/report/report.js';
import { HOST_NS, containerMounts, sample, sandbox, snapshot } from './snapshot.js';

const ids = (pod: { findings: readonly { id: string }[] }): string[] =>
  pod.findings.map((f) => f.id);

test('a plain pod: nothing shared, no findings, severity none', () => {
  const mounts = [
    {
      containerPath: '/data',
      hostPath: '/srv/data',
      readOnly: false,
      propagation: 'None' as const,
    },
  ];
  const mountinfo = containerMounts(['20 10 8:1 /srv/data /data rw - ext4 /dev/sda1 rw']);
  const [pod] = inspect(snapshot([sandbox([sample('app', { mounts, mountinfo })])]));
  assert.deepEqual(pod?.hostNamespaces, { network: 'false', pid: 'false', ipc: 'false' });
  assert.deepEqual(pod?.findings, []);
  const r = buildReport(pod, null);
  // What says the default is not written (every byte is paid once per pod in etcd): no host
  // labels, no annotations, no owner flags, no "None" propagation, no sharedWithHost "false".
  assert.deepEqual(r.metadata.labels, {
    'app.kubernetes.io/managed-by': 'nsreport',
    'nsreport.dev/node': 'node-1',
    'nsreport.dev/severity': 'none',
  });
  assert.equal('annotations' in r.metadata, false);
  assert.deepEqual(r.metadata.ownerReferences, [
    { apiVersion: 'v1', kind: 'Pod', name: 'web', uid: 'uid-web' },
  ]);
  const c = r.report.containers[0];
  assert.deepEqual(c?.namespaces.net, { inode: pod?.containers[0]?.namespaces.net?.inode });
  assert.ok(c?.mounts.length);
  for (const m of c?.mounts ?? []) assert.equal('declaredPropagation' in m, false);
});

test('hostNetwork observed: NSR001 and the host-network label; NSR008 per own listener', () => {
  const ns = { ...HOST_NS, mnt: 102, pid: 103, ipc: 104 };
  const networks = new Map([
    [
      1,
      {
        interfaces: [
          { name: 'eth0', ipv4: ['192.0.2.2'], ipv6: ['fe80::1'] },
          { name: 'veth1', ipv4: [], ipv6: ['fe80::2'] },
        ],
        listeners: [
          {
            protocol: 'tcp6' as const,
            address: '::',
            port: 39180,
            container: 'server',
            containerId: 'id-server',
          },
          {
            protocol: 'tcp' as const,
            address: '127.0.0.1',
            port: 9000,
            container: 'server',
            containerId: 'id-server',
          },
          {
            protocol: 'tcp' as const,
            address: '0.0.0.0',
            port: 22,
            container: '',
            containerId: '',
          },
        ],
      },
    ],
  ]);
  const [pod] = inspect(
    snapshot([sandbox([sample('server', { ns })], { network: 'NODE' })], { networks }),
  );
  assert.equal(pod?.hostNamespaces.network, 'true');
  assert.deepEqual(ids(pod), ['NSR001', 'NSR008', 'NSR008']);
  assert.deepEqual(
    pod?.network.interfaces.map((i) => i.name),
    ['eth0'],
    'link-local-only interfaces are left out',
  );
  assert.equal(pod?.network.listeners.length, 2, "the host's own sshd is not this pod's listener");
  assert.deepEqual(
    pod?.findings.map((f) => f.severity),
    ['high', 'low', 'medium'],
  );
  assert.equal(buildReport(pod, null).metadata.labels['nsreport.dev/host-network'], 'true');
});

test('host namespace shared but not declared: NSR010; hostPID and hostIPC: NSR002/NSR003', () => {
  const [pod] = inspect(snapshot([sandbox([sample('x', { ns: { ...HOST_NS, mnt: 9 } })])]));
  assert.deepEqual(ids(pod!), ['NSR001', 'NSR002', 'NSR003', 'NSR010', 'NSR010', 'NSR010']);
});

test('unreadable host reference: sharing unknown (never guessed); declared NODE still flags', () => {
  const [plain] = inspect(snapshot([sandbox([sample('app')])], { hostReadable: false }));
  assert.deepEqual(plain?.hostNamespaces, { network: 'unknown', pid: 'unknown', ipc: 'unknown' });
  assert.equal(plain?.containers[0]?.namespaces.net?.sharedWithHost, 'unknown');
  assert.deepEqual(plain?.findings, []);
  const [hostnet] = inspect(
    snapshot([sandbox([sample('app')], { network: 'NODE' })], { hostReadable: false }),
  );
  assert.deepEqual(ids(hostnet!), ['NSR001']);
});

test('mounts: declared vs observed vs host propagation; NSR004/005/006/007', () => {
  const mounts = [
    {
      containerPath: '/shared',
      hostPath: '/srv/shared',
      readOnly: false,
      propagation: 'Bidirectional' as const,
    },
    {
      containerPath: '/h2c',
      hostPath: '/srv/slave/x',
      readOnly: true,
      propagation: 'HostToContainer' as const,
    },
    {
      containerPath: '/bad',
      hostPath: '/srv/private',
      readOnly: false,
      propagation: 'Bidirectional' as const,
    },
    {
      containerPath: '/sock',
      hostPath: '/run/containerd/containerd.sock',
      readOnly: false,
      propagation: 'None' as const,
    },
    { containerPath: '/gone', hostPath: '/srv/x', readOnly: false, propagation: 'None' as const },
  ];
  const mountinfo = containerMounts([
    '11 10 8:1 /srv/shared /shared rw shared:1 - ext4 /dev/a rw',
    '12 10 8:1 /srv/slave/x /h2c ro master:4 - ext4 /dev/a rw',
    '13 10 8:1 /srv/private /bad rw - ext4 /dev/a rw',
    '14 10 0:20 /containerd/containerd.sock /sock rw - tmpfs tmpfs rw',
  ]);
  const [pod] = inspect(
    snapshot([sandbox([sample('m', { mounts, mountinfo, privileged: true })])]),
  );
  const obs = pod!.containers[0]!.mounts;
  assert.deepEqual(
    obs.map((m) => [m.destination, m.observedPropagation, m.hostPropagation, m.consistent]),
    [
      ['/shared', 'shared', 'shared', true],
      ['/h2c', 'slave', 'slave', true],
      ['/bad', 'private', 'private', false],
      ['/sock', 'private', 'private', true],
      ['/gone', 'absent', 'private', false],
    ],
  );
  assert.deepEqual(ids(pod!), [
    'NSR004',
    'NSR004',
    'NSR005',
    'NSR005',
    'NSR006',
    'NSR007',
    'NSR009',
  ]);
  assert.equal(buildReport(pod!, null).report.summary.highestSeverity, 'critical');
});

test('a container that is not running has no observations and no NSR005 noise', () => {
  const mounts = [
    {
      containerPath: '/d',
      hostPath: '/srv/x',
      readOnly: false,
      propagation: 'HostToContainer' as const,
    },
  ];
  const [pod] = inspect(snapshot([sandbox([sample('done', { state: 'exited', pid: 0, mounts })])]));
  const c = pod!.containers[0]!;
  assert.equal(c.pid, 0);
  assert.deepEqual(c.namespaces, {});
  assert.equal(c.mounts[0]?.observedPropagation, 'unknown');
  assert.equal(c.mounts[0]?.consistent, true);
  assert.deepEqual(pod?.hostNamespaces, { network: 'unknown', pid: 'unknown', ipc: 'unknown' });
});

test('sensitive host paths', () => {
  assert.equal(sensitivity('/', true), 'critical');
  assert.equal(sensitivity('/var/run/docker.sock', false), 'critical');
  assert.equal(sensitivity('/tmp/lab/containerd.sock', true), 'critical');
  assert.equal(sensitivity('/etc', false), 'high');
  assert.equal(sensitivity('/etc/', true), 'medium');
  assert.equal(sensitivity('/var/lib/kubelet/pods/x', false), 'high');
  assert.equal(sensitivity('/proc/sys', false), 'high');
  assert.equal(sensitivity('/etc/ssl/certs', true), null);
  assert.equal(sensitivity('/srv/data', false), null);
  assert.equal(sensitivity('/tmp/app.socket', false), null);
});

test('one report per pod: the ready, newest sandbox wins', () => {
  const old = sandbox([sample('a', { sandboxId: 'old' })], {
    id: 'old',
    state: 'notready',
    createdAt: 9,
  });
  const cur = sandbox([sample('a', { sandboxId: 'new' })], { id: 'new', createdAt: 5 });
  const pods = inspect(snapshot([old, cur]));
  assert.equal(pods.length, 1);
  assert.equal(pods[0]?.sandbox.id, 'new');
});

test('reports are deterministic: input order does not change content or hash', () => {
  const a = sandbox([sample('b'), sample('a')], { name: 'p1', id: 's1' });
  const b = sandbox([sample('c', { sandboxId: 's2' })], { name: 'p2', id: 's2' });
  const one = inspect(snapshot([a, b])).map((p) => buildReport(p, null));
  const two = inspect(snapshot([b, { ...a, containers: [...a.containers].reverse() }])).map((p) =>
    buildReport(p, null),
  );
  assert.deepEqual(one, two);
  assert.deepEqual(
    one.map((r) => r.metadata.name),
    ['p1', 'p2'],
  );
  assert.deepEqual(
    one[0]?.report.containers.map((c) => c.name),
    ['a', 'b'],
  );
  assert.match(contentHash(one[0] ?? {}), /^sha256:[0-9a-f]{32}$/);
  assert.equal(contentHash(one[1] ?? {}), contentHash(two[1] ?? {}));
  assert.equal(
    'annotations' in (one[0]?.metadata ?? {}),
    false,
    'no annotation: the hash is recomputed',
  );
});

test('size caps: mounts beyond the cap are cut and truncated says so', () => {
  const mounts = Array.from({ length: LIMITS.mountsPerContainer + 5 }, (_, i) => ({
    containerPath: `/m${i}`,
    hostPath: `/srv/m${i}`,
    readOnly: false,
    propagation: 'None' as const,
  }));
  const [pod] = inspect(snapshot([sandbox([sample('big', { mounts })])]));
  const r = buildReport(pod!, null);
  assert.equal(r.report.truncated, true);
  assert.equal(r.report.containers[0]?.mounts.length, LIMITS.mountsPerContainer);
  assert.equal(r.report.summary.mounts, LIMITS.mountsPerContainer + 5);
});

test('size caps: a huge report is cut far below the etcd limit', () => {
  const long = '/x'.repeat(1000);
  const mounts = Array.from({ length: 64 }, (_, i) => ({
    containerPath: `${long}/${i}`,
    hostPath: `${long}/${i}`,
    readOnly: false,
    propagation: 'None' as const,
  }));
  const containers = Array.from({ length: 20 }, (_, i) => sample(`c${i}`, { mounts }));
  const r = buildReport(inspect(snapshot([sandbox(containers)]))[0]!, null);
  assert.equal(r.report.truncated, true);
  assert.ok(JSON.stringify(r).length < 1024 * 1024, `${JSON.stringify(r).length} bytes`);
});

test('two hostNetwork pods with a container called server each see only their own listener', () => {
  const listener = (port: number, id: string) => ({
    protocol: 'tcp' as const,
    address: '0.0.0.0',
    port,
    container: 'server',
    containerId: id,
  });
  const networks = new Map([
    [1, { interfaces: [], listeners: [listener(8001, 'id-a'), listener(8002, 'id-b')] }],
  ]);
  const pod = (name: string, id: string, mnt: number): ReturnType<typeof sandbox> => {
    const c = sample('server', { ns: { ...HOST_NS, mnt } });
    return sandbox([{ ...c, summary: { ...c.summary, id, sandboxId: `sb-${name}` } }], {
      name,
      id: `sb-${name}`,
      network: 'NODE',
    });
  };
  const [a, b] = inspect(snapshot([pod('a', 'id-a', 301), pod('b', 'id-b', 302)], { networks }));
  assert.deepEqual(
    a?.network.listeners.map((l) => l.port),
    [8001],
  );
  assert.deepEqual(
    b?.network.listeners.map((l) => l.port),
    [8002],
  );
  const report = buildReport(a, null);
  assert.deepEqual(report.report.network.listeners, [
    { protocol: 'tcp', address: '0.0.0.0', port: 8001, container: 'server' },
  ]);
});

test('NSR008: IPv4-mapped loopback is loopback (low), a host address is medium', () => {
  assert.ok(isLoopback('::ffff:127.0.0.1'));
  assert.ok(isLoopback('127.0.0.53'));
  assert.ok(isLoopback('::1'));
  assert.ok(!isLoopback('::ffff:10.0.0.1'));
  assert.ok(!isLoopback('::'));
  assert.ok(!isLoopback('0.0.0.0'));
});

test('sensitive host paths, both directions (writable, read-only)', () => {
  const table: [string, string | null, string | null][] = [
    // path, writable, read-only
    ['/run/containerd', 'critical', 'critical'],
    ['/var/run/crio/', 'critical', 'critical'],
    ['/run/k3s/containerd/containerd.sock', 'critical', 'critical'],
    ['/dev/mem', 'critical', 'high'],
    ['/dev/sda1', 'critical', 'high'],
    ['/dev/nvme0n1', 'critical', 'high'],
    ['/dev', 'high', 'medium'],
    ['/dev/fuse', 'high', 'medium'],
    ['/etc/shadow', 'high', 'medium'],
    ['/etc/cron.d', 'high', 'medium'],
    ['/etc/sudoers.d/admins', 'high', 'medium'],
    ['/etc/ssh', 'high', 'medium'],
    ['/etc/kubernetes/pki', 'high', 'medium'],
    ['/root/.kube', 'high', 'medium'],
    ['/home/alice/.ssh', 'high', 'medium'],
    ['/boot/grub', 'high', 'medium'],
    ['/var/lib/kubelet', 'high', 'medium'],
    ['/var/lib/containerd/io.containerd.content.v1.content', 'high', 'medium'],
    ['/var/lib/docker', 'high', 'medium'],
    // /var/run is /run, which holds the runtime sockets: as the sockets.
    ['/var/run', 'critical', 'critical'],
    ['/run', 'critical', 'critical'],
    ['/var', 'high', 'medium'],
    // Escape routes through a writable host path, and what holds them.
    ['/etc/passwd', 'high', null],
    ['/etc/group', 'high', null],
    ['/var/spool/cron/crontabs', 'high', 'medium'],
    ['/var/spool', 'high', 'medium'],
    ['/etc/cron.weekly', 'high', 'medium'],
    ['/etc/cron.monthly', 'high', 'medium'],
    ['/lib/systemd/system', 'high', null],
    ['/usr/lib/systemd/system/kubelet.service', 'high', null],
    ['/lib/systemd', 'high', null],
    ['/run/systemd/private', 'critical', 'critical'],
    ['/run/systemd', 'critical', 'critical'],
    ['/run/dbus/system_bus_socket', 'critical', 'critical'],
    ['/var/run/dbus', 'critical', 'critical'],
    ['/etc/containerd/config.toml', 'high', 'medium'],
    ['/var/lib/rancher/k3s', 'high', 'medium'],
    ['/var/lib/rancher', 'high', 'medium'],
    ['/run/k3s', 'critical', 'critical'],
    ['/etc/modprobe.d', 'high', null],
    ['/lib/modules', 'high', null],
    ['/lib/modules/6.18.44/kernel', 'high', null],
    ['/usr/local/bin', 'high', null],
    ['/usr/bin/', 'high', null],
    ['/lib64', 'high', null],
    ['/opt/cni/bin', 'high', null],
    ['/etc/cni/net.d', 'high', null],
    // Not sensitive: a workload's own data, CA certificates, a user's files, host time zones.
    ['/etc/ssl/certs', null, null],
    ['/etc/localtime', null, null],
    ['/home/alice/data', null, null],
    ['/srv/data', null, null],
    ['/var/log/app', null, null],
    ['/mnt/disks/ssd0', null, null],
    ['/run/containerd-backup', null, null],
    ['/etc/passwd-backup', null, null],
    ['/var/spool/mail', null, null],
    ['/run/user/1000', null, null],
    ['/lib/firmware', null, null],
  ];
  for (const [path, writable, readOnly] of table) {
    assert.equal(sensitivity(path, false), writable, `${path} writable`);
    assert.equal(sensitivity(path, true), readOnly, `${path} read-only`);
  }
});
