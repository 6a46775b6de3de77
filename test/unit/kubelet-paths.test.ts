import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isOwnKubeletVolume, kubeletVolume } from '../../src/inspect/kubelet-paths.js';
import { fixture } from './fixtures.js';

interface CapturedPod {
  podUid: string;
  mounts: { containerPath: string; hostPath: string }[];
}
const pods = JSON.parse(fixture('cri/kubelet-pod-mounts.json')) as Record<string, CapturedPod>;

test('kubelet volumes of real kubelet-made pods are said by type and name', () => {
  const said = (pod: string): [string, ReturnType<typeof kubeletVolume>][] => {
    const p = pods[pod];
    assert.ok(p);
    return p.mounts.map((m) => [m.containerPath, kubeletVolume(m.hostPath, p.podUid)]);
  };
  assert.deepEqual(said('vols'), [
    ['/etc/app', { type: 'configmap', name: 'cfg' }],
    ['/var/lib/app/creds', { type: 'secret', name: 'sec' }],
    ['/cache', { type: 'empty-dir', name: 'cache' }],
    ['/projected', { type: 'projected', name: 'proj' }],
    ['/podinfo', { type: 'downward-api', name: 'dapi' }],
    ['/run/containerd', null],
    ['/host/log', null],
    [
      '/var/run/secrets/kubernetes.io/serviceaccount',
      { type: 'projected', name: 'kube-api-access-w9wdd' },
    ],
    ['/etc/hosts', { type: 'etc-hosts', name: 'etc-hosts' }],
    ['/dev/termination-log', { type: 'termination-log', name: 'app' }],
  ]);
  // Another pod's kubelet directory, and the kubelet's own plugin directories, are host paths.
  const bidir = said('bidir');
  assert.equal(bidir[0]?.[1], null, '/var/lib/kubelet/plugins-cap');
  assert.equal(kubeletVolume(pods.vols?.mounts[0]?.hostPath ?? '', pods.bidir?.podUid ?? ''), null);
});

test('other layouts under the pod directory: CSI, subPath, anything else; any kubelet root', () => {
  const uid = '0a47ab6e-488c-4359-b595-78b18a5b3edb';
  const root = '/var/snap/microk8s/common/var/lib/kubelet';
  assert.deepEqual(
    kubeletVolume(`${root}/pods/${uid}/volumes/kubernetes.io~csi/pvc-1f2e/mount`, uid),
    {
      type: 'csi',
      name: 'pvc-1f2e',
    },
  );
  assert.deepEqual(kubeletVolume(`${root}/pods/${uid}/volume-subpaths/cfg/app/0`, uid), {
    type: 'subpath',
    name: 'cfg',
  });
  assert.deepEqual(kubeletVolume(`${root}//pods/${uid}/plugins/x`, uid), {
    type: 'pod-dir',
    name: 'plugins/x',
  });
  assert.deepEqual(kubeletVolume(`${root}/pods/${uid}/volumes/kubernetes.io~secret`, uid), {
    type: 'pod-dir',
    name: 'volumes/kubernetes.io~secret',
  });
  assert.equal(kubeletVolume(`/pods/${uid}/etc-hosts`, uid), null, 'no kubelet root');
  assert.equal(kubeletVolume(`${root}/pods/${uid}/etc-hosts`, ''), null, 'no pod uid');
  assert.ok(isOwnKubeletVolume(`${root}/pods/${uid}/etc-hosts`, uid));
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
