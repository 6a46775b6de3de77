import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { createCriClient } from '../../src/cri/client.js';
import { CriError } from '../../src/cri/errors.js';
import { LAB } from '../env.js';
import { ctrTaskPids } from './oracles.js';

/** The CRI adapter's contract with a real runtime: the lab's containerd over its real socket. */
const { socket } = LAB;
const seen: string[] = [];
const cri = createCriClient(socket, { observe: (method, code) => seen.push(`${method}:${code}`) });

after(() => {
  cri.close();
});

test('Version names the runtime', async () => {
  const v = await cri.version();
  assert.equal(v.name, 'containerd');
  assert.match(v.version, /^1\.6\./);
  assert.equal(v.apiVersion, 'v1');
});

test('sandboxes, containers and verbose status map to domain types', async () => {
  const sandboxes = await cri.listSandboxes();
  const containers = await cri.listContainers();
  assert.ok(sandboxes.length >= 6);
  assert.ok(
    sandboxes.every(
      (s) => s.pod.namespace === 'nsr-lab' && s.pod.uid !== '' && s.state === 'ready',
    ),
  );
  const hostnet = sandboxes.find((s) => s.pod.name === 'hostnet');
  assert.ok(hostnet);
  assert.deepEqual((await cri.sandboxStatus(hostnet.id)).declared, {
    network: 'NODE',
    pid: 'CONTAINER',
    ipc: 'POD',
  });
  const pids = ctrTaskPids(socket);
  for (const c of containers) {
    const d = await cri.containerStatus(c.id);
    assert.equal(d.pid, pids.get(c.id), c.name);
    assert.equal(d.privileged, c.name === 'mounter', c.name);
  }
  const bidir = containers.find((c) => c.name === 'mounter');
  assert.deepEqual(
    (await cri.containerStatus(bidir!.id)).mounts.map((m) => m.propagation),
    ['Bidirectional'],
  );
  assert.ok(seen.includes('ListPodSandbox:ok') && seen.includes('ContainerStatus:ok'));
});

test('an unknown container is not-found', async () => {
  await assert.rejects(
    cri.containerStatus('0'.repeat(64)),
    (e: unknown) => e instanceof CriError && e.kind === 'not-found',
  );
});

test('GetContainerEvents on containerd 1.6 is unimplemented (the agent falls back to polling)', async () => {
  const ac = new AbortController();
  const timer = setTimeout(() => {
    ac.abort();
  }, 5000);
  try {
    await assert.rejects(
      cri.watchEvents(() => undefined, ac.signal),
      (e: unknown) => e instanceof CriError && e.kind === 'unimplemented',
    );
  } finally {
    clearTimeout(timer);
  }
});
