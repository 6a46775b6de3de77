import {
  CustomObjectsApi,
  KubeConfig,
  PatchStrategy,
  setHeaderMiddleware,
  type ConfigurationOptions,
  type RequestContext,
} from '@kubernetes/client-node';
import {
  ANNOTATION_CONTENT_HASH,
  API_GROUP,
  LABEL_NODE,
  type NamespaceReport,
} from '../report/types.js';
import { labelValue } from '../report/report.js';
import { toApiError } from './errors.js';
import type { RateLimiter } from './ratelimit.js';

const VERSION = 'v1alpha1';
const PLURAL = 'namespacereports';
export const FIELD_MANAGER = 'nsreport';

/** A report as it stands in the API: where it is and the content hash it was written with. */
export interface StoredReport {
  readonly namespace: string;
  readonly name: string;
  readonly hash: string | null;
}

/** The agent's view of the NamespaceReport API. Errors are ApiError. */
export interface ReportStore {
  /** Reports labelled with this node, read page by page. */
  listNodeReports(node: string): Promise<StoredReport[]>;
  /** Server-side apply (fieldManager nsreport, force). */
  apply(report: NamespaceReport): Promise<void>;
  /** Deletes a report; one already gone counts as deleted. */
  remove(namespace: string, name: string): Promise<void>;
  /** A cheap authenticated read, for readiness. */
  ping(): Promise<void>;
}

export interface StoreOptions {
  readonly kubeconfig: string | null;
  readonly timeoutMs: number;
  readonly limiter: RateLimiter;
  readonly pageSize?: number;
  readonly userAgent?: string;
}

/** Every request gets a deadline (and our user agent): the agent's and the audit's. */
export function requestOptions(timeoutMs: number, userAgent: string): ConfigurationOptions {
  const base = setHeaderMiddleware('User-Agent', userAgent);
  return {
    middleware: [
      {
        pre: (ctx: RequestContext) => {
          ctx.setSignal(AbortSignal.timeout(timeoutMs));
          return base.pre(ctx);
        },
        post: (rsp) => base.post(rsp),
      },
    ],
    middlewareMergeStrategy: 'append',
  };
}

export function loadKubeConfig(path: string | null): KubeConfig {
  const kc = new KubeConfig();
  if (path !== null) kc.loadFromFile(path);
  else kc.loadFromCluster();
  return kc;
}

interface ListPage {
  items?: {
    metadata?: { namespace?: string; name?: string; annotations?: Record<string, string> };
  }[];
  metadata?: { continue?: string };
}

export function createReportStore(opts: StoreOptions): ReportStore {
  const api = loadKubeConfig(opts.kubeconfig).makeApiClient(CustomObjectsApi);
  const base = requestOptions(opts.timeoutMs, opts.userAgent ?? 'nsreport');
  const pageSize = opts.pageSize ?? 500;

  async function call<T>(
    fn: (o: ConfigurationOptions) => Promise<T>,
    extra?: (o: ConfigurationOptions) => ConfigurationOptions,
  ): Promise<T> {
    await opts.limiter.take();
    try {
      return await fn(extra ? extra(base) : base);
    } catch (err) {
      throw toApiError(err);
    }
  }

  return {
    async listNodeReports(node: string): Promise<StoredReport[]> {
      const out: StoredReport[] = [];
      let cont: string | undefined;
      do {
        const page = await call<ListPage>(
          (o) =>
            api.listClusterCustomObject(
              {
                group: API_GROUP,
                version: VERSION,
                plural: PLURAL,
                labelSelector: `${LABEL_NODE}=${labelValue(node)}`,
                limit: pageSize,
                ...(cont ? { _continue: cont } : {}),
              },
              o,
            ) as Promise<ListPage>,
        );
        for (const item of page.items ?? []) {
          const md = item.metadata ?? {};
          if (md.namespace && md.name) {
            out.push({
              namespace: md.namespace,
              name: md.name,
              hash: md.annotations?.[ANNOTATION_CONTENT_HASH] ?? null,
            });
          }
        }
        cont = page.metadata?.continue || undefined;
      } while (cont);
      return out;
    },
    async apply(report: NamespaceReport): Promise<void> {
      await call(
        (o) =>
          api.patchNamespacedCustomObject(
            {
              group: API_GROUP,
              version: VERSION,
              plural: PLURAL,
              namespace: report.metadata.namespace,
              name: report.metadata.name,
              body: report,
              fieldManager: FIELD_MANAGER,
              force: true,
            },
            o,
          ) as Promise<unknown>,
        (o) => {
          const ct = setHeaderMiddleware('Content-Type', PatchStrategy.ServerSideApply);
          return { ...o, middleware: [...(o.middleware ?? []), ct] };
        },
      );
    },
    async remove(namespace: string, name: string): Promise<void> {
      try {
        await call(
          (o) =>
            api.deleteNamespacedCustomObject(
              { group: API_GROUP, version: VERSION, plural: PLURAL, namespace, name },
              o,
            ) as Promise<unknown>,
        );
      } catch (err) {
        if (toApiError(err).kind !== 'not-found') throw err;
      }
    },
    async ping(): Promise<void> {
      await call(
        (o) =>
          api.listClusterCustomObject(
            { group: API_GROUP, version: VERSION, plural: PLURAL, limit: 1 },
            o,
          ) as Promise<unknown>,
      );
    },
  };
}
