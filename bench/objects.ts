/**
 * Many objects created fast through nsreport's own REST client (kubectl creates a List one
 * object at a time): `concurrency` requests in flight.
 */
import { connect } from '../src/k8s/connection.js';
import { ApiError } from '../src/k8s/errors.js';
import { createRestClient, type RestClient } from '../src/k8s/rest.js';
import { labelValue } from '../src/report/report.js';
import { LABEL_NODE, type NamespaceReport } from '../src/report/types.js';

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

/**
 * The template report as a simulated agent of `node` writes it at `at`: its node's label and
 * name, owned by that node's agent Pod (a Pod that exists, so the garbage collector keeps it).
 */
export function simReport(
  template: NamespaceReport,
  a: { readonly node: string; readonly ownerUid: string },
  at: { namespace: string; name: string },
): NamespaceReport {
  return {
    ...template,
    metadata: {
      ...at,
      labels: { ...template.metadata.labels, [LABEL_NODE]: labelValue(a.node) },
      ownerReferences: [
        { apiVersion: 'v1', kind: 'Pod', name: `agent-${a.node}`, uid: a.ownerUid },
      ],
    },
    report: { ...template.report, node: a.node },
  };
}
