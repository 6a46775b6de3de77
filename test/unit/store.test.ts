import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRateLimiter } from '../../src/k8s/ratelimit.js';
import type { RestClient } from '../../src/k8s/rest.js';
import { createReportStore } from '../../src/k8s/store.js';

// What the store asks of the API server (the e2e suites hold the answers to the real one).

function recording(answer: (path: string) => unknown): {
  rest: RestClient;
  asked: { method: string; path: string; query?: unknown }[];
} {
  const asked: { method: string; path: string; query?: unknown }[] = [];
  const rest: RestClient = {
    server: 'https://api.test',
    request: <T>(method: string, path: string, o?: { query?: unknown }): Promise<T> => {
      asked.push({ method, path, ...(o?.query ? { query: o.query } : {}) });
      const a = answer(path);
      return Promise.resolve(a as T);
    },
    watch: () => Promise.resolve(),
  };
  return { rest, asked };
}

const limiter = createRateLimiter({ qps: 1000, burst: 1000 });

test("the readiness ping reads the reports' group version, never a list of reports", async () => {
  // A list, even of limit=1, costs the API server a walk of every report in its watch cache; the
  // group version's discovery document costs the same at any number of reports.
  const { rest, asked } = recording(() => ({ kind: 'APIResourceList' }));
  await createReportStore(rest, { limiter }).ping();
  assert.deepEqual(asked, [{ method: 'GET', path: '/apis/nsreport.dev/v1alpha1' }]);
});
