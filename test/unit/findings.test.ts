import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mapMount } from '../../src/cri/mappers.js';
import type { PortMapping } from '../../src/cri/types.js';
import type { WireMount } from '../../src/cri/wire.js';
import { inspect, observeMount } from '../../src/inspect/inspect.js';
import { buildReport } from '../../src/report/report.js';
import { fixture } from './fixtures.js';
import { HOST_NS, containerMounts, sample, sandbox, snapshot } from './snapshot.js';
import { ok } from '../../src/procfs/result.js';
import { parseMountinfo } from '../../src/procfs/mountinfo.js';

/** Rules NSR011 and NSR012, and propagation explained by the runtime spec: both directions. */

const ids = (pod: { findings: readonly { id: string }[] } | undefined): string[] =>
  (pod?.findings ?? []).map((f) => f.id);

const tcp = (hostPort: number, extra: Partial<PortMapping> = {}): PortMapping => ({
  protocol: 'TCP',
  containerPort: 8080,
  hostPort,
  hostIp: '',
  ...extra,
});

test('NSR011: a host port mapping is a finding (medium; low on loopback), named by its container', () => {
  const [pod] = inspect(
    snapshot([
      sandbox([
        sample('web', {
          hostPorts: [tcp(39300, { container: 'web' }), tcp(39301, { hostIp: '127.0.0.1' })],
        }),
      ]),
    ]),
  );
  assert.deepEqual(
    pod?.findings.map((f) => [f.id, f.severity, f.container, f.message]),
    [
      [
        'NSR011',
        'low',
        undefined,
        "host port tcp 127.0.0.1:39301 is mapped to the pod's port 8080",
      ],
      ['NSR011', 'medium', 'web', "host port tcp 0.0.0.0:39300 is mapped to the pod's port 8080"],
    ],
  );
  const r = buildReport(pod, null);
  assert.equal(r.metadata.labels['nsreport.dev/severity'], 'medium');
  assert.deepEqual(
    r.report.network.hostPorts?.map((m) => m.hostPort),
    [39300, 39301],
  );
});

test('NSR011: one finding per protocol, host address and port, whichever container declares it', () => {
  const [pod] = inspect(
    snapshot([
      sandbox([
        sample('web', { hostPorts: [tcp(80, { container: 'web' })] }),
        sample('side', {
          hostPorts: [
            tcp(80, { container: 'side' }),
            { ...tcp(53), protocol: 'UDP', container: 'side' },
          ],
        }),
      ]),
    ]),
  );
  assert.deepEqual(
    pod?.network.hostPorts.map((m) => [m.protocol, m.hostPort]),
    [
      ['UDP', 53],
      ['TCP', 80],
    ],
  );
  assert.deepEqual(ids(pod), ['NSR011', 'NSR011']);
});

test('NSR011: not for hostNetwork pods (the mapping does nothing there; NSR008 says what listens); not without host ports', () => {
  const hostNs = { ...HOST_NS, mnt: 9 };
  const [hostnet] = inspect(
    snapshot([
      sandbox([sample('edge', { ns: hostNs, hostPorts: [tcp(39280, { container: 'edge' })] })], {
        network: 'NODE',
      }),
    ]),
  );
  assert.ok(!ids(hostnet).includes('NSR011'));
  const [plain] = inspect(snapshot([sandbox([sample('web')])]));
  assert.deepEqual(ids(plain), []);
  assert.equal(buildReport(plain!, null).report.network.hostPorts, undefined);
});

test("NSR012: uid 0 in the host's user namespace, in a pod that could use hostUsers: false", () => {
  const [root] = inspect(snapshot([sandbox([sample('app', { uid: 0 })])]));
  assert.deepEqual(
    root?.findings.map((f) => [f.id, f.severity, f.container]),
    [['NSR012', 'low', 'app']],
  );
  assert.equal(root?.containers[0]?.uid, 0);
  // A user namespace of its own (hostUsers: false): root there is an unprivileged host uid.
  const [userns] = inspect(
    snapshot([
      sandbox([
        sample('app', {
          uid: 0,
          ns: { ...HOST_NS, net: 101, mnt: 102, pid: 103, ipc: 104, uts: 105, user: 106 },
        }),
      ]),
    ]),
  );
  assert.deepEqual(ids(userns), []);
  // Not root, or the runtime did not say: nothing.
  assert.deepEqual(ids(inspect(snapshot([sandbox([sample('app', { uid: 65534 })])]))[0]), []);
  assert.deepEqual(ids(inspect(snapshot([sandbox([sample('app', { uid: null })])]))[0]), []);
  // Host unreadable: whether the user namespace is the host's is unknown, so no finding.
  assert.deepEqual(
    ids(inspect(snapshot([sandbox([sample('app', { uid: 0 })])], { hostReadable: false }))[0]),
    [],
  );
});

test('NSR012: not where hostUsers: false is impossible (host namespaces, privileged): those have their own findings', () => {
  const [hostnet] = inspect(
    snapshot([sandbox([sample('a', { uid: 0, ns: { ...HOST_NS, mnt: 9 } })], { network: 'NODE' })]),
  );
  assert.ok(!ids(hostnet).includes('NSR012'));
  assert.ok(ids(hostnet).includes('NSR001'));
  const [priv] = inspect(
    snapshot([sandbox([sample('a', { uid: 0, privileged: true }), sample('b', { uid: 0 })])]),
  );
  assert.deepEqual(ids(priv), ['NSR009']);
});

const declared = (propagation: 'None' | 'HostToContainer' | 'Bidirectional'): WireMount => ({
  containerPath: '/d',
  hostPath: '/srv/shared',
  readonly: false,
  selinuxRelabel: false,
  propagation: {
    None: 'PROPAGATION_PRIVATE',
    HostToContainer: 'PROPAGATION_HOST_TO_CONTAINER',
    Bidirectional: 'PROPAGATION_BIDIRECTIONAL',
  }[propagation],
});

test('propagation under an rshared root (runc ≥ 1.4 with a Bidirectional mount): expected, not NSR005', () => {
  const host = ok(parseMountinfo('1 0 8:1 / / rw shared:1 - ext4 /dev/a rw'));
  const mi = (fields: string) =>
    ok(parseMountinfo(containerMounts([`11 10 8:1 /srv/shared /d rw ${fields} - ext4 /dev/a rw`])));
  // [declared, optional fields the kernel shows, rootfsPropagation, consistent, explained]
  const table: [
    'None' | 'HostToContainer' | 'Bidirectional',
    string,
    string | null,
    boolean,
    string | undefined,
  ][] = [
    ['None', 'shared:5', 'rshared', true, 'rootfs-rshared'],
    ['HostToContainer', 'shared:5 master:1', 'rshared', true, 'rootfs-rshared'],
    ['Bidirectional', 'shared:5', 'rshared', true, undefined],
    // What runc 1.1 shows under the same spec: as declared, nothing to explain.
    ['None', '', 'rshared', true, undefined],
    ['HostToContainer', 'master:1', 'rshared', true, undefined],
    // Without an rshared root, a shared mount declared None is NSR005.
    ['None', 'shared:5', null, false, undefined],
    ['None', 'shared:5', 'rslave', false, undefined],
    // An rshared root does not explain a HostToContainer mount that lost its master.
    ['HostToContainer', 'shared:5', 'rshared', false, undefined],
    ['HostToContainer', '', 'rshared', false, undefined],
  ];
  for (const [decl, fields, rootfs, consistent, explained] of table) {
    const m = observeMount(mapMount(declared(decl)), mi(fields), host, {
      rootfsPropagation: rootfs,
    });
    const what = `${decl} showing "${fields}" under ${String(rootfs)}`;
    assert.equal(m.consistent, consistent, what);
    assert.equal(m.explained, explained, what);
  }
});

test('the CSI-like pod of a kubelet node: mounts beside the Bidirectional one are not NSR005 under rshared', () => {
  const mounts = [
    {
      containerPath: '/plugins',
      hostPath: '/srv/shared',
      readOnly: false,
      propagation: 'Bidirectional' as const,
    },
    {
      containerPath: '/h2c',
      hostPath: '/srv/slave',
      readOnly: false,
      propagation: 'HostToContainer' as const,
    },
    {
      containerPath: '/etc/hosts',
      hostPath: '/srv/hosts',
      readOnly: false,
      propagation: 'None' as const,
    },
  ];
  const mountinfo = containerMounts([
    '11 10 8:1 /srv/shared /plugins rw shared:1 - ext4 /dev/a rw',
    '12 10 8:1 /srv/slave /h2c rw shared:7 master:4 - ext4 /dev/a rw',
    '13 10 8:1 /srv/hosts /etc/hosts rw shared:8 - ext4 /dev/a rw',
  ]);
  const [pod] = inspect(
    snapshot([
      sandbox([
        sample('plugin', { mounts, mountinfo, privileged: true, rootfsPropagation: 'rshared' }),
      ]),
    ]),
  );
  assert.deepEqual(ids(pod), ['NSR004', 'NSR009']);
  assert.deepEqual(
    pod?.containers[0]?.mounts.map((m) => m.explained),
    [undefined, 'rootfs-rshared', 'rootfs-rshared'],
  );
  assert.equal(pod?.containers[0]?.rootfsPropagation, 'rshared');
});

test('NSR007 on mount lists captured from kubelet-made pods: own volumes never, host paths by the table', () => {
  // CRI ContainerStatus mounts of pods a kubelet v1.35.4 made on containerd 1.6.20.
  const pods = JSON.parse(fixture('cri/kubelet-pod-mounts.json')) as Record<
    string,
    { podUid: string; mounts: WireMount[] }
  >;
  const expected: Record<string, [string, string][]> = {
    // token, /etc/hosts, termination log: the pod's own (<kubelet root>/pods/<uid>/…).
    hp: [],
    nonroot: [],
    // configMap, secret, emptyDir, projected, downwardAPI: own; /var/log read-only: medium. A
    // runtime socket directory at a custom path (the test node's) is not known as one.
    vols: [['/host/log', 'medium']],
    // A CSI plugin's Bidirectional kubelet directory (writable: high), /etc/cron.d read-only.
    bidir: [
      ['/cron', 'medium'],
      ['/h2c', 'high'],
      ['/plugins', 'high'],
    ],
  };
  for (const [name, p] of Object.entries(pods)) {
    const [pod] = inspect(
      snapshot([
        sandbox([sample('c', { mounts: p.mounts.map(mapMount) })], { name, uid: p.podUid }),
      ]),
    );
    const got = (pod?.findings ?? [])
      .filter((f) => f.id === 'NSR007')
      .map((f) => [f.message.split(':')[0] ?? '', f.severity]);
    assert.deepEqual(got, expected[name], name);
  }
});

test('a sandbox whose status failed declares UNKNOWN, not POD, and raises no NSR010', () => {
  const s = sandbox([sample('app', { ns: { net: 1, mnt: 102, pid: 103, ipc: 104, uts: 105 } })]);
  const [pod] = inspect(snapshot([{ ...s, detail: null, error: 'PodSandboxStatus: deadline' }]));
  assert.deepEqual(pod?.declared, { network: 'UNKNOWN', pid: 'UNKNOWN', ipc: 'UNKNOWN' });
  assert.ok(!pod?.findings.some((f) => f.id === 'NSR010'));
});

test('NSR007 leaves the pod alone for its own volumes and flags the kubelet tree otherwise', () => {
  const mounts = (uid: string): Parameters<typeof sample>[1] => ({
    mounts: [
      {
        containerPath: '/etc/hosts',
        hostPath: `/var/lib/kubelet/pods/${uid}/etc-hosts`,
        readOnly: false,
        propagation: 'None',
      },
      {
        containerPath: '/var/run/secrets/kubernetes.io/serviceaccount',
        hostPath: `/var/lib/kubelet/pods/${uid}/volumes/kubernetes.io~projected/kube-api-access-abcde`,
        readOnly: true,
        propagation: 'None',
      },
    ],
  });
  const nsr007 = (uid: string): string[] =>
    (inspect(snapshot([sandbox([sample('app', mounts(uid))])]))[0]?.findings ?? [])
      .filter((f) => f.id === 'NSR007')
      .map((f) => f.severity);
  assert.deepEqual(nsr007('uid-web'), []);
  assert.deepEqual(nsr007('uid-someone-else'), ['high', 'medium']);
});
