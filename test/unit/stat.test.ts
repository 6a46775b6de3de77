import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { parseBootTime, parseStartTicks, startTimeMs } from '../../src/procfs/stat.js';
import { fixture, mutated } from './fixtures.js';

test('the start time of a process is field 22 of its stat, counted after the name', () => {
  assert.equal(parseStartTicks(fixture('proc/stat-cat')), 342419);
  // The name `x) Z 9 (y` would shift every field of a naive split.
  const hostile = fixture('proc/stat-hostile-comm');
  assert.match(hostile, /\(x\) Z 9 \(y\)/);
  assert.equal(parseStartTicks(hostile), 348091);
  assert.equal(
    parseStartTicks(hostile),
    Number(hostile.slice(hostile.lastIndexOf(')') + 2).split(' ')[19]),
  );
});

test('malformed or truncated stat text is no start time, never a wrong one', () => {
  const whole = fixture('proc/stat-cat');
  for (const bad of [
    '',
    'garbage',
    '1 (x S 1',
    whole.slice(0, whole.indexOf(' 342419')),
    '1 (x) S -5 ',
  ])
    assert.equal(parseStartTicks(bad), null, JSON.stringify(bad));
  fc.assert(
    fc.property(fc.string(), (s) => {
      const t = parseStartTicks(s);
      return t === null || (Number.isSafeInteger(t) && t >= 0);
    }),
  );
});

test('boot time from /proc/stat, and a start time in ms since the epoch', () => {
  assert.equal(parseBootTime('cpu  1 2 3\nbtime 1796121482\nprocesses 7\n'), 1796121482);
  assert.equal(parseBootTime('cpu 1\n'), null);
  // Past 2^53 (a counterexample the property below found): not a time.
  assert.equal(
    parseBootTime('cpu  1 2 3 4\nintr 5\nbtime 99999999999999999999\nprocesses 7\n'),
    null,
  );
  assert.equal(startTimeMs(1_000, 250), 1_002_500);
});

test('property: /proc/stat and /proc/<pid>/stat broken anywhere: a time or null, never a throw', () => {
  const procStat = 'cpu  1 2 3 4\nintr 5\nbtime 1796121482\nprocesses 7\n';
  fc.assert(
    fc.property(mutated(procStat), (text) => {
      const b = parseBootTime(text);
      return b === null || (Number.isSafeInteger(b) && b >= 0);
    }),
  );
  for (const name of ['stat-cat', 'stat-hostile-comm'])
    fc.assert(
      fc.property(mutated(fixture(`proc/${name}`)), (text) => {
        const t = parseStartTicks(text);
        return t === null || (Number.isSafeInteger(t) && t >= 0);
      }),
    );
});
