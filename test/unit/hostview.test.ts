import assert from 'node:assert/strict';
import { test } from 'node:test';
import { collectHostView } from '../../src/collect/hostview.js';
import { fakeProc } from './fixtures.js';

test('procfs-only view: namespaces grouped with their processes, host marked', async () => {
  const root = await fakeProc({
    1: { ns: { net: 10, mnt: 20 }, comm: 'init' },
    2: { ns: { net: 10, mnt: 20 }, comm: 'sshd' },
    3: { ns: { net: 11, mnt: 21 }, comm: 'sleep' },
    4: { comm: 'hidden' },
  });
  const v = collectHostView(root, 1, 'n');
  assert.equal(v.hostReadable, true);
  assert.equal(v.unreadable, 1);
  assert.deepEqual(
    v.namespaces.map((n) => [n.type, n.inode, n.host, n.processes.map((p) => p.pid)]),
    [
      ['net', 10, 'true', [1, 2]],
      ['net', 11, 'false', [3]],
      ['mnt', 20, 'true', [1, 2]],
      ['mnt', 21, 'false', [3]],
    ],
  );
});

test('procfs-only view of this machine: our own namespaces are the host reference', () => {
  const v = collectHostView('/proc', process.pid, 'n');
  const ourNet = v.namespaces.find(
    (n) => n.type === 'net' && n.processes.some((p) => p.pid === process.pid),
  );
  assert.equal(ourNet?.host, 'true');
});
