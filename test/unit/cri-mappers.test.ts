import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { kindFromGrpc } from '../../src/cri/errors.js';
import {
  imageName,
  mapContainer,
  mapMount,
  mapSandbox,
  mapSandboxStatus,
  mapContainerStatus,
} from '../../src/cri/mappers.js';
import { parseContainerInfo, parseContainerPorts, parseSandboxInfo } from '../../src/cri/info.js';
import type { WireContainerStatus } from '../../src/cri/wire.js';
import { fixture, mutated } from './fixtures.js';

const info = (name: string): Record<string, string> => ({ info: fixture(`cri/${name}`) });

test('containerd 1.6 verbose info: pid, sandbox and privileged', () => {
  assert.deepEqual(parseContainerInfo(info('containerd-1.6-privileged.info.json')), {
    pid: 7680,
    sandboxId: '4a9badfdc9783f58f3c13aacafe543bdee78c7e595cf9101949e37d6f2d9b606',
    privileged: true,
    uid: 0,
    rootfsPropagation: 'rshared',
    // The kubelet-less lab asks for no groups: its config's security context has none.
    declaredGroups: { gid: null, supplementary: [] },
  });
  const plain = parseContainerInfo(info('containerd-1.6-plain.info.json'));
  assert.equal(plain.pid, 7658);
  assert.equal(plain.privileged, false);
});

test('CRI-O verbose info: pid and its privileged field', () => {
  assert.deepEqual(parseContainerInfo(info('cri-o-privileged.info.json')).privileged, true);
  const plain = parseContainerInfo(info('cri-o-plain.info.json'));
  assert.equal(plain.pid, 4343);
  assert.equal(plain.privileged, false);
});

test('without a privileged field the runtime spec decides', () => {
  const spec = (caps: string[], masked: string[]): Record<string, string> => ({
    info: JSON.stringify({
      pid: 5,
      runtimeSpec: {
        process: { capabilities: { bounding: caps } },
        linux: { maskedPaths: masked },
      },
    }),
  });
  assert.equal(parseContainerInfo(spec(['CAP_SYS_ADMIN', 'CAP_NET_ADMIN'], [])).privileged, true);
  assert.equal(parseContainerInfo(spec(['CAP_CHOWN'], ['/proc/kcore'])).privileged, false);
  assert.equal(parseContainerInfo({ info: '{"pid": 5}' }).privileged, null);
});

test('malformed info: pid 0 (not running), never a throw', () => {
  const bad: Record<string, string>[] = [
    {},
    { info: '' },
    { info: '{' },
    { info: '[]' },
    { info: '{"pid":"12"}' },
    { info: '{"pid":-3}' },
    { info: '{"pid":1.5}' },
  ];
  for (const b of bad) {
    assert.equal(parseContainerInfo(b).pid, 0, JSON.stringify(b));
  }
  fc.assert(fc.property(fc.string(), (s) => parseContainerInfo({ info: s }).pid >= 0));
  fc.assert(fc.property(fc.json(), (s) => parseContainerInfo({ info: s }).pid >= 0));
});

test('wire mappers: sandbox metadata, namespace modes, mounts, container state', () => {
  const sb = mapSandbox({
    id: 's1',
    metadata: { name: 'web', namespace: 'shop', uid: 'u-1', attempt: 0 },
    state: 'SANDBOX_READY',
    createdAt: 5,
    labels: {},
  });
  assert.deepEqual(sb.pod, { name: 'web', namespace: 'shop', uid: 'u-1' });
  assert.equal(sb.state, 'ready');
  assert.equal(sb.static, false, 'no config.source annotation: a pod from the API');
  // The kubelet's annotations on a static pod's sandbox (pkg/kubelet/types/pod_update.go).
  const staticPod = (source: string): boolean =>
    mapSandbox({
      id: 's3',
      metadata: { name: 'etcd-n1', namespace: 'kube-system', uid: 'a1b2', attempt: 0 },
      state: 'SANDBOX_READY',
      createdAt: 1,
      labels: {},
      annotations: { 'kubernetes.io/config.source': source, 'kubernetes.io/config.hash': 'a1b2' },
    }).static;
  assert.equal(staticPod('file'), true);
  assert.equal(staticPod('http'), true);
  assert.equal(staticPod('api'), false);
  // Only nsreport's own annotations are kept (acceptance); the kubelet's are dropped.
  assert.deepEqual(
    mapSandbox({
      id: 's4',
      metadata: null,
      state: 'SANDBOX_READY',
      createdAt: 1,
      labels: {},
      annotations: {
        'nsreport.dev/accept': 'NSR001',
        'kubernetes.io/config.seen': 'x',
        'kubectl.kubernetes.io/last-applied-configuration': '{}',
      },
    }).annotations,
    { 'nsreport.dev/accept': 'NSR001' },
  );
  const fromLabels = mapSandbox({
    id: 's2',
    metadata: null,
    state: 'SANDBOX_NOTREADY',
    createdAt: 0,
    labels: {
      'io.kubernetes.pod.name': 'a',
      'io.kubernetes.pod.namespace': 'b',
      'io.kubernetes.pod.uid': 'c',
    },
  });
  assert.deepEqual(fromLabels.pod, { name: 'a', namespace: 'b', uid: 'c' });
  assert.equal(fromLabels.state, 'notready');
  const st = mapSandboxStatus({
    id: 's1',
    metadata: null,
    state: 'SANDBOX_READY',
    network: { ip: '10.0.0.2', additionalIps: [{ ip: 'fd00::2' }] },
    linux: { namespaces: { options: { network: 'NODE', pid: 'CONTAINER', ipc: 'POD' } } },
  });
  assert.deepEqual(st.declared, { network: 'NODE', pid: 'CONTAINER', ipc: 'POD' });
  assert.deepEqual(st.ips, ['10.0.0.2', 'fd00::2']);
  assert.deepEqual(
    mapSandboxStatus({ id: 'x', metadata: null, state: '', network: null, linux: null }).declared,
    {
      network: 'POD',
      pid: 'POD',
      ipc: 'POD',
    },
  );
  assert.equal(
    mapMount({
      containerPath: '/a',
      hostPath: '/b',
      readonly: true,
      propagation: 'PROPAGATION_HOST_TO_CONTAINER',
    }).propagation,
    'HostToContainer',
  );
  assert.equal(
    mapMount({
      containerPath: '/a',
      hostPath: '/b',
      readonly: false,
      propagation: 'PROPAGATION_BIDIRECTIONAL',
    }).propagation,
    'Bidirectional',
  );
  assert.equal(
    mapMount({
      containerPath: '/a',
      hostPath: '/b',
      readonly: false,
      propagation: 'PROPAGATION_PRIVATE',
    }).propagation,
    'None',
  );
  const c = mapContainer({
    id: 'c1',
    podSandboxId: 's1',
    metadata: null,
    image: null,
    imageRef: 'sha256:abc',
    state: 'CONTAINER_EXITED',
    createdAt: 1,
    labels: { 'io.kubernetes.container.name': 'app' },
  });
  assert.deepEqual([c.name, c.image, c.state], ['app', 'sha256:abc', 'exited']);
});

test('gRPC status codes map to domain error kinds', () => {
  assert.equal(kindFromGrpc(14, 'connect ENOENT /run/x.sock'), 'socket-missing');
  assert.equal(kindFromGrpc(14, 'connect EACCES /run/x.sock'), 'permission-denied');
  assert.equal(kindFromGrpc(14, 'Connection dropped'), 'unavailable');
  assert.equal(kindFromGrpc(12, 'unknown method'), 'unimplemented');
  assert.equal(kindFromGrpc(4, 'Deadline exceeded'), 'deadline');
  assert.equal(kindFromGrpc(5, 'not found'), 'not-found');
  assert.equal(kindFromGrpc(2, 'boom'), 'failed');
});

/** `crictl inspect` of containers a kubelet made (v1.35.4, containerd 1.6.20): annotations + info. */
const kubeletContainer = (
  name: string,
): { annotations: Record<string, string>; info: Record<string, string> } => {
  const doc = JSON.parse(fixture(`cri/containerd-1.6-kubelet-${name}.container.json`)) as {
    annotations: Record<string, string>;
    info: unknown;
  };
  return { annotations: doc.annotations, info: { info: JSON.stringify(doc.info) } };
};

test('kubelet-made containers: uid and rootfs propagation from the runtime spec', () => {
  const bidir = parseContainerInfo(kubeletContainer('bidirectional').info);
  assert.equal(bidir.uid, 0);
  assert.equal(bidir.rootfsPropagation, 'rshared');
  assert.equal(bidir.privileged, true);
  const nonroot = parseContainerInfo(kubeletContainer('nonroot').info);
  assert.equal(nonroot.uid, 65534);
  assert.equal(nonroot.rootfsPropagation, null);
  const bad = parseContainerInfo({ info: '{"runtimeSpec":{"process":{"user":{"uid":-1}}}}' });
  assert.equal(bad.uid, null);
});

test("host ports: the kubelet's container annotation, as a kubelet wrote it", () => {
  // containerPort 9000 has no hostPort: not a host port.
  assert.deepEqual(parseContainerPorts(kubeletContainer('hostport').annotations, 'web'), [
    { protocol: 'TCP', containerPort: 8080, hostPort: 39300, hostIp: '', container: 'web' },
    { protocol: 'UDP', containerPort: 53, hostPort: 39301, hostIp: '127.0.0.1', container: 'web' },
  ]);
  assert.deepEqual(parseContainerPorts(kubeletContainer('nonroot').annotations, 'app'), []);
});

test('host ports: malformed or absent data is none, never a throw', () => {
  const ports = (raw: unknown): unknown =>
    parseContainerPorts({ 'io.kubernetes.container.ports': JSON.stringify(raw) }, 'c');
  assert.deepEqual(
    ports([
      { hostPort: 70000, containerPort: 1 },
      { hostPort: 80, protocol: 'QUIC' },
      null,
      { hostPort: 81, protocol: 'SCTP', containerPort: 81 },
    ]),
    [{ protocol: 'SCTP', containerPort: 81, hostPort: 81, hostIp: '', container: 'c' }],
  );
  assert.deepEqual(parseContainerPorts(undefined, 'c'), []);
  for (const raw of ['', '{', '{}', '[1]', '[{"hostPort":"80"}]'])
    assert.deepEqual(parseContainerPorts({ 'io.kubernetes.container.ports': raw }, 'c'), [], raw);
  fc.assert(
    fc.property(fc.json(), (s) =>
      Array.isArray(parseContainerPorts({ 'io.kubernetes.container.ports': s }, 'c')),
    ),
  );
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

test('sandbox verbose info: the infra PID and the pinned network namespace, as containerd and CRI-O give them', () => {
  const info = (name: string) =>
    (JSON.parse(fixture(`cri/${name}`)) as { info: Record<string, string> }).info;
  const containerd = parseSandboxInfo(info('containerd-1.6-lab.sandbox.json'));
  assert.ok(containerd.pid > 0);
  assert.match(containerd.netnsPath ?? '', /^\/var\/run\/netns\/cni-[0-9a-f-]{36}$/);
  // CRI-O without an infra process: only the runtime spec, the namespace pinned by pinns.
  const crio = parseSandboxInfo(info('cri-o-1.34-no-infra.sandbox.json'));
  assert.equal(crio.pid, 0);
  assert.match(crio.netnsPath ?? '', /\/ns\/netns\/[0-9a-f-]{36}$/);
  assert.deepEqual(parseSandboxInfo({ info: '{' }), { pid: 0, netnsPath: null });
  assert.deepEqual(parseSandboxInfo(undefined), { pid: 0, netnsPath: null });
});

test("an exited container's status: CRI-O keeps its old PID and names the image its own way; containerd says 0", () => {
  const status = (name: string) =>
    JSON.parse(fixture(`cri/${name}`)) as {
      status: WireContainerStatus;
      info: Record<string, string>;
    };
  const crio = status('cri-o-1.34-exited.container.json');
  const d = mapContainerStatus('c', crio.status, parseContainerInfo(crio.info));
  assert.equal(d.state, 'exited');
  assert.ok(d.pid > 0, 'the old PID is still in the verbose info');
  assert.equal(d.imageAsWritten, false, 'user_specified_image is empty');
  assert.equal(d.image, 'nsreport.test/pause:1', 'another tag of the same image ID');
  const ctd = status('containerd-1.6-exited.container.json');
  assert.equal(mapContainerStatus('c', ctd.status, parseContainerInfo(ctd.info)).pid, 0);
});

/** A JSON document with the value at one of its paths replaced by arbitrary JSON. */
function replacedAt(doc: unknown, path: readonly string[], value: unknown): unknown {
  if (path.length === 0) return value;
  if (typeof doc !== 'object' || doc === null) return doc;
  const [head = '', ...rest] = path;
  // Arrays are left whole: the paths below are of object keys.
  const copy: Record<string, unknown> = { ...(doc as Record<string, unknown>) };
  copy[head] = replacedAt(copy[head], rest, value);
  return copy;
}

/** Every path of object keys in a JSON document (the places a runtime could put another type). */
function paths(doc: unknown, prefix: string[] = []): string[][] {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return [prefix];
  return [prefix, ...Object.entries(doc).flatMap(([k, v]) => paths(v, [...prefix, k]))];
}

test('property: captured verbose info with any field of another type, or broken text, never throws', () => {
  for (const name of [
    'containerd-1.6-plain.info.json',
    'containerd-1.6-privileged.info.json',
    'cri-o-plain.info.json',
    'cri-o-privileged.info.json',
  ]) {
    const text = fixture(`cri/${name}`);
    const doc: unknown = JSON.parse(text);
    const check = (raw: string): void => {
      const i = parseContainerInfo({ info: raw });
      assert.ok(Number.isSafeInteger(i.pid) && i.pid >= 0);
      assert.ok(i.uid === null || (Number.isSafeInteger(i.uid) && i.uid >= 0));
      assert.ok(i.privileged === null || typeof i.privileged === 'boolean');
      assert.ok(i.sandboxId === null || typeof i.sandboxId === 'string');
    };
    fc.assert(
      fc.property(fc.constantFrom(...paths(doc)), fc.jsonValue(), (path, value) => {
        check(JSON.stringify(replacedAt(doc, path, value)));
      }),
      { numRuns: 150 },
    );
    fc.assert(fc.property(mutated(text), check), { numRuns: 60 });
  }
});

test('property: captured sandbox verbose info with any field of another type, or broken text, never throws', () => {
  for (const name of ['containerd-1.6-lab.sandbox.json', 'cri-o-1.34-no-infra.sandbox.json']) {
    const text =
      (JSON.parse(fixture(`cri/${name}`)) as { info: Record<string, string> }).info.info ?? '';
    const doc: unknown = JSON.parse(text);
    const check = (raw: string): void => {
      const i = parseSandboxInfo({ info: raw });
      assert.ok(Number.isSafeInteger(i.pid) && i.pid >= 0);
      assert.ok(i.netnsPath === null || (i.netnsPath.startsWith('/') && i.netnsPath.length < 4096));
    };
    fc.assert(
      fc.property(fc.constantFrom(...paths(doc)), fc.jsonValue(), (path, value) => {
        check(JSON.stringify(replacedAt(doc, path, value)));
      }),
      { numRuns: 150 },
    );
    fc.assert(fc.property(mutated(text), check), { numRuns: 60 });
  }
});
