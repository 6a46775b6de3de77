import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readEffectiveCapabilities } from '../../src/procfs/reader.js';
import {
  CAP_SYS_ADMIN,
  hasCapability,
  parseEffectiveCapabilities,
} from '../../src/procfs/status.js';

test('capabilities: CapEff of /proc/<pid>/status, CAP_SYS_ADMIN is bit 21', () => {
  // Captured from `grep Cap /proc/self/status` as root (Linux 6.18) and under
  // `setpriv --bounding-set=-sys_admin`.
  const root = 'CapInh:\t0000000000000000\nCapPrm:\t000001fffeffffff\nCapEff:\t000001fffeffffff\n';
  const dropped = 'CapPrm:\t000001fffedfffff\nCapEff:\t000001fffedfffff\n';
  const caps = parseEffectiveCapabilities(root);
  assert.equal(caps, 0x1fffeffffffn);
  assert.equal(hasCapability(caps ?? 0n, CAP_SYS_ADMIN), true);
  assert.equal(hasCapability(parseEffectiveCapabilities(dropped) ?? 0n, CAP_SYS_ADMIN), false);
  assert.equal(parseEffectiveCapabilities('Name:\tsleep\n'), null);
  assert.equal(parseEffectiveCapabilities('CapEff:\tzz\n'), null);
});

test('capabilities of this process are read; a process that is not there is gone', () => {
  const self = readEffectiveCapabilities('/proc', 'self');
  assert.ok(self.ok);
  const gone = readEffectiveCapabilities('/proc', 999_999_999);
  assert.ok(!gone.ok && gone.reason === 'gone');
});
