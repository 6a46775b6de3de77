import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createMetrics } from '../../src/telemetry/metrics.js';
import { inspect } from '../../src/inspect/inspect.js';
import { HOST_NS, sample, sandbox, snapshot } from './snapshot.js';

test('inventory gauges follow the last scan; labels stay bounded', async () => {
  const m = createMetrics();
  const hostnet = sandbox(
    [sample('srv', { ns: { ...HOST_NS, mnt: 9, pid: 10, ipc: 11 }, sandboxId: 'h' })],
    { name: 'h', id: 'h', network: 'NODE' },
  );
  m.observeInventory(inspect(snapshot([sandbox([sample('a')]), hostnet])));
  let text = await m.registry.metrics();
  assert.match(text, /^nsreport_pods\{host_network="true"\} 1$/m);
  assert.match(text, /^nsreport_pods\{host_network="false"\} 1$/m);
  assert.match(text, /^nsreport_findings\{id="NSR001",severity="high"\} 1$/m);
  assert.doesNotMatch(text, /id-a|sb-1|uid-/, 'no pod or container ids in labels');
  m.observeInventory(inspect(snapshot([sandbox([sample('a')])])));
  text = await m.registry.metrics();
  assert.doesNotMatch(text, /host_network="true"/, 'series of pods that left are dropped');
  assert.doesNotMatch(text, /^nodejs_active_handles_total/m);
  assert.match(text, /^process_cpu_seconds_total/m);
});
