/**
 * Many objects created fast through nsreport's own REST client (kubectl creates a List one
 * object at a time): `concurrency` requests in flight.
 */
import { connect } from '../src/k8s/connection.js';
import { ApiError } from '../src/k8s/errors.js';
import { createRestClient, type RestClient } from '../src/k8s/rest.js';

export async function restClient(kubeconfig: string): Promise<RestClient> {
  const conn = await connect({ kubeconfig });
  return createRestClient(conn, { timeoutMs: 60_000, userAgent: 'nsreport-bench' });
}

/**
 * POSTs object `item(i)` for i < `count`; returns `pick` of each answer (the server's object).
 * One that exists already (a run grown before) is read instead: a rerun goes on where one ended.
 */
export async function createMany<T>(
  rest: RestClient,
  count: number,
  item: (i: number) => { path: string; body: object },
  pick: (created: unknown) => T,
  concurrency = 16,
): Promise<T[]> {
  const out: T[] = new Array<T>(count);
  let next = 0;
  async function worker(): Promise<void> {
    for (let i = next++; i < count; i = next++) {
      const { path, body } = item(i);
      const created = await rest.request('POST', path, { body }).catch((err: unknown) => {
        if (!(err instanceof ApiError && err.kind === 'conflict')) throw err;
        const { name } = (body as { metadata: { name: string } }).metadata;
        return rest.request('GET', `${path}/${encodeURIComponent(name)}`);
      });
      out[i] = pick(created);
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker));
  return out;
}
