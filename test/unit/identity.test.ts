import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { imageName } from '../../src/cri/mappers.js';
import { isOwnKubeletVolume } from '../../src/inspect/kubelet-paths.js';
import { inspect } from '../../src/inspect/inspect.js';
import { storedReport } from '../../src/k8s/store.js';
import { buildReport, contentHash, labelValue } from '../../src/report/report.js';
import { sample, sandbox, snapshot } from './snapshot.js';

/** Identity and stability of reports: node labels, hashes, owners, order, kubelet paths. */

test('node label values: valid names as they are; longer ones short, stable and distinct', () => {
  assert.equal(labelValue('node-1.example.com'), 'node-1.example.com');
  const common = 'ip-10-0-0-1.eu-west-1.compute.internal.cluster-with-a-long-name';
  assert.equal(common.length, 63);
  const a = `${common}-aaaaaaaaaaaaaaaa`;
  const b = `${common}-bbbbbbbbbbbbbbbb`;
  assert.equal(a.length, 80);
  for (const n of [a, b]) {
    assert.ok(labelValue(n).length <= 63, labelValue(n));
    assert.match(labelValue(n), /^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$/);
    assert.equal(labelValue(n), labelValue(n));
  }
  assert.notEqual(labelValue(a), labelValue(b));
  fc.assert(
    fc.property(fc.string({ minLength: 0, maxLength: 300 }), (s) => {
      const v = labelValue(s);
      return v.length <= 63 && /^([A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?)?$/.test(v);
    }),
  );
});

test('the report keeps the full node name; the label carries the short form', () => {
  const node = 'n'.repeat(80);
  const [pod] = inspect({ ...snapshot([sandbox([sample('app')])]), node });
  const r = buildReport(pod!, null);
  assert.equal(r.report.node, node);
  assert.equal(r.metadata.labels['nsreport.dev/node'], labelValue(node));
});

/** Sorts object keys the other way round: what the API server may give back. */
function reversedKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(reversedKeys);
  if (typeof v !== 'object' || v === null) return v;
  return Object.fromEntries(
    Object.entries(v)
      .reverse()
      .map(([k, x]) => [k, reversedKeys(x)]),
  );
}

test('the content hash of a stored report equals the wanted one whatever its key order; an edit changes it', () => {
  const [pod] = inspect(snapshot([sandbox([sample('app')])]));
  const wanted = buildReport(pod!, null);
  const stored = reversedKeys({
    ...wanted,
    metadata: {
      ...wanted.metadata,
      uid: 'x',
      resourceVersion: '7',
      managedFields: [{ manager: 'nsreport' }],
      labels: { ...wanted.metadata.labels, team: 'shop' },
    },
  }) as typeof wanted;
  const s = storedReport(stored);
  assert.equal(s?.hash, contentHash(wanted));
  assert.equal(s?.resourceVersion, '7');
  const edited = {
    ...wanted,
    report: { ...wanted.report, findings: [] as never[], truncated: true },
  };
  assert.notEqual(contentHash(edited), contentHash(wanted));
  const relabelled = {
    ...wanted,
    metadata: {
      ...wanted.metadata,
      labels: { ...wanted.metadata.labels, 'nsreport.dev/severity': 'critical' },
    },
  };
  assert.notEqual(contentHash(relabelled), contentHash(wanted));
});

test('permuted CRI lists give one report and one hash (a restarted container: exited + running)', () => {
  const exited = sample('app', { state: 'exited' });
  const running = sample('app');
  const containers = [
    { ...exited, summary: { ...exited.summary, id: 'c-old', createdAt: 1 } },
    { ...running, summary: { ...running.summary, id: 'c-new', createdAt: 2 } },
    sample('sidecar'),
  ];
  const old = sandbox([], { id: 'sb-old', state: 'notready', createdAt: 1 });
  const reports = new Set<string>();
  fc.assert(
    fc.property(
      fc.shuffledSubarray(containers, { minLength: 3, maxLength: 3 }),
      fc.boolean(),
      (cs, oldFirst) => {
        const cur = sandbox(cs, { id: 'sb-1', createdAt: 2 });
        const snap = snapshot(oldFirst ? [old, cur] : [cur, old]);
        const r = buildReport(inspect(snap)[0]!, null);
        reports.add(JSON.stringify(r));
        return true;
      },
    ),
  );
  assert.equal(reports.size, 1);
});

test('a sandbox whose status failed declares UNKNOWN, not POD, and raises no NSR010', () => {
  const s = sandbox([sample('app', { ns: { net: 1, mnt: 102, pid: 103, ipc: 104, uts: 105 } })]);
  const [pod] = inspect(snapshot([{ ...s, detail: null, error: 'PodSandboxStatus: deadline' }]));
  assert.deepEqual(pod?.declared, { network: 'UNKNOWN', pid: 'UNKNOWN', ipc: 'UNKNOWN' });
  assert.ok(!pod?.findings.some((f) => f.id === 'NSR010'));
});

test("a pod's own kubelet-managed volumes are its own, under any kubelet root; another pod's are not", () => {
  const uid = '6f1c2b9e-1111-4a4a-9c9c-0123456789ab';
  for (const root of ['/var/lib/kubelet', '/var/lib/rancher/k3s/agent/kubelet', '/data/kubelet']) {
    for (const tail of [
      'etc-hosts',
      'containers/app/0f3e1a2b',
      'volumes/kubernetes.io~empty-dir/cache',
      'volumes/kubernetes.io~configmap/config',
      'volumes/kubernetes.io~secret/creds',
      'volumes/kubernetes.io~projected/kube-api-access-x7k2p',
    ])
      assert.ok(isOwnKubeletVolume(`${root}/pods/${uid}/${tail}`, uid), `${root} ${tail}`);
    assert.ok(!isOwnKubeletVolume(`${root}/pods/other-uid/etc-hosts`, uid));
    assert.ok(!isOwnKubeletVolume(`${root}/pods`, uid));
  }
  assert.ok(!isOwnKubeletVolume(`/pods/${uid}/x`.slice(0, 0) + '/etc', uid));
  assert.ok(!isOwnKubeletVolume('/var/lib/kubelet/pods/', ''));
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

test('image names: what the user wrote, never only an image ID', () => {
  const id = 'sha256:' + 'a'.repeat(64);
  assert.equal(imageName({ image: id, userSpecifiedImage: 'nginx:1.27' }), 'nginx:1.27');
  assert.equal(
    imageName({ image: 'docker.io/library/busybox:1.36' }),
    'docker.io/library/busybox:1.36',
  );
  assert.equal(imageName({ image: id }), null);
  assert.equal(imageName({ image: 'a'.repeat(64) }), null);
  assert.equal(imageName(null), null);
});
