import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRateLimiter } from '../../src/k8s/ratelimit.js';

test('token bucket: a burst goes at once, then qps', async () => {
  let now = 0;
  const slept: number[] = [];
  const limiter = createRateLimiter({
    qps: 5,
    burst: 10,
    now: () => now,
    sleep: (ms) => {
      slept.push(ms);
      now += ms;
      return Promise.resolve();
    },
  });
  for (let i = 0; i < 10; i++) await limiter.take();
  assert.deepEqual(slept, []);
  for (let i = 0; i < 5; i++) await limiter.take();
  assert.equal(now, 1000, '5 more requests at 5 QPS take one second');
});

test('an aborted wait rejects', async () => {
  const limiter = createRateLimiter({ qps: 0.001, burst: 1 });
  await limiter.take();
  const ac = new AbortController();
  const waiting = limiter.take(ac.signal);
  ac.abort(new Error('stop'));
  await assert.rejects(waiting, /stop/);
});
