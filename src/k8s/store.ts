import {
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  ListWatch,
  PatchStrategy,
  V1DeleteOptions,
  V1Preconditions,
  Watch,
  setHeaderMiddleware,
  type ConfigurationOptions,
  type KubernetesObject,
  type RequestContext,
} from '@kubernetes/client-node';
import type { OpenReport } from '../report/openreport.js';
import {
  ANNOTATION_CONTENT_HASH,
  API_GROUP,
  LABEL_MANAGED_BY,
  LABEL_NODE,
  type NamespaceReport,
} from '../report/types.js';
import { contentHash, labelValue } from '../report/report.js';
import { toApiError, type ApiError } from './errors.js';
import type { RateLimiter } from './ratelimit.js';

const VERSION = 'v1alpha1';
const PLURAL = 'namespacereports';
export const FIELD_MANAGER = 'nsreport';

/** A report as the API holds it now: where it is, whose it is and what it says (as a hash). */
export interface StoredReport {
  readonly namespace: string;
  readonly name: string;
  /** The object's own UID and resourceVersion: the preconditions of a write or delete. */
  readonly uid: string;
  readonly resourceVersion: string;
  /** Value of the `nsreport.dev/node` label ('' when absent). */
  readonly nodeLabel: string;
  /** UID of the pod the report describes (`report.pod.uid`). */
  readonly podUid: string;
  /** `report.sandbox.state`: which of two agents describes the live pod. */
  readonly sandboxReady: boolean;
  /** contentHash of what is stored, computed here: an edit of the body changes it. */
  readonly hash: string;
}

/** What the API holds for one node, kept current by a list + watch. */
export interface ReportCache {
  /** True once the first complete list arrived (stays true through later relists). */
  readonly synced: boolean;
  get(namespace: string, name: string): StoredReport | undefined;
  list(): StoredReport[];
}

/** Why a watch restarted: its server side closed it, its resourceVersion expired, or an error. */
export type WatchRestart = 'closed' | 'expired' | 'error';

export interface WatchHandlers {
  /** Something this node's reports hold changed (added, modified, deleted, relisted). */
  onChange(): void;
  onRestart(reason: WatchRestart, err: ApiError | null): void;
}

/** The agent's view of the NamespaceReport API. Errors are ApiError. */
export interface ReportStore {
  /** Lists and then watches the reports labelled with this node, until the signal aborts. */
  watchNodeReports(node: string, handlers: WatchHandlers, signal: AbortSignal): ReportCache;
  /** One report wherever it is labelled, or null. */
  get(namespace: string, name: string): Promise<StoredReport | null>;
  /**
   * Server-side apply (fieldManager nsreport, force). With a resourceVersion, the write happens
   * only if the object still has it (409 conflict otherwise).
   */
  apply(report: NamespaceReport, resourceVersion: string | null): Promise<void>;
  /** Deletes a report only if it is still the object seen (UID and resourceVersion); gone = done. */
  remove(report: StoredReport): Promise<void>;
  /** UID of a Node, or null when there is no such Node. */
  nodeUid(node: string): Promise<string | null>;
  /** This node's OpenReports (label), with the hash each was written with. */
  listOpenReports(node: string): Promise<StoredOpenReport[]>;
  /** Server-side apply of an OpenReports Report. */
  applyOpenReport(report: OpenReport): Promise<void>;
  /** Deletes an OpenReports Report if it is still the object seen; gone = done. */
  removeOpenReport(report: StoredOpenReport): Promise<void>;
  /** A cheap authenticated read, for readiness. */
  ping(): Promise<void>;
}

/** An OpenReports Report as listed: where, which object, and the hash it was written with. */
export interface StoredOpenReport {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly resourceVersion: string;
  readonly hash: string;
}

function storedOpenReport(o: KubernetesObject): StoredOpenReport {
  const md: Partial<NonNullable<KubernetesObject['metadata']>> = o.metadata ?? {};
  return {
    namespace: md.namespace ?? '',
    name: md.name ?? '',
    uid: md.uid ?? '',
    resourceVersion: md.resourceVersion ?? '',
    hash: md.annotations?.[ANNOTATION_CONTENT_HASH] ?? '',
  };
}

const OPEN = { group: 'openreports.io', version: 'v1alpha1', plural: 'reports' } as const;

export interface StoreOptions {
  readonly kubeconfig: string | null;
  readonly timeoutMs: number;
  readonly limiter: RateLimiter;
  readonly pageSize?: number;
  readonly userAgent?: string;
  /** Server-side timeout of one watch request (it is then resumed from its resourceVersion). */
  readonly watchTimeoutSeconds?: number;
  /** First and largest delay before a failed list/watch is tried again. */
  readonly watchBackoffMs?: { readonly initial: number; readonly max: number };
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

interface RawReport extends KubernetesObject {
  readonly report?: { pod?: { uid?: unknown }; sandbox?: { state?: unknown } };
}

interface ListPage {
  items?: RawReport[];
  metadata?: { continue?: string; resourceVersion?: string };
}

/** The StoredReport of an object read from the API (null when it lacks a name). */
export function storedReport(o: RawReport): StoredReport | null {
  const namespace = o.metadata?.namespace;
  const name = o.metadata?.name;
  return namespace && name ? { namespace, name, ...identity(o) } : null;
}

function identity(o: RawReport): Omit<StoredReport, 'namespace' | 'name'> {
  const podUid = o.report?.pod?.uid;
  const md: Partial<NonNullable<RawReport['metadata']>> = o.metadata ?? {};
  return {
    uid: md.uid ?? '',
    resourceVersion: md.resourceVersion ?? '',
    nodeLabel: md.labels?.[LABEL_NODE] ?? '',
    podUid: typeof podUid === 'string' ? podUid : '',
    sandboxReady: o.report?.sandbox?.state === 'ready',
    hash: contentHash(o),
  };
}

const key = (namespace: string, name: string): string => `${namespace}/${name}`;

/** Delete only the object that was seen: same UID, same resourceVersion. */
function deleteOptions(r: Pick<StoredReport, 'uid' | 'resourceVersion'>): V1DeleteOptions {
  const pre = new V1Preconditions();
  if (r.uid) pre.uid = r.uid;
  if (r.resourceVersion) pre.resourceVersion = r.resourceVersion;
  const body = new V1DeleteOptions();
  body.preconditions = pre;
  return body;
}

export function createReportStore(opts: StoreOptions): ReportStore {
  const kc = loadKubeConfig(opts.kubeconfig);
  const api = kc.makeApiClient(CustomObjectsApi);
  const core = kc.makeApiClient(CoreV1Api);
  const base = requestOptions(opts.timeoutMs, opts.userAgent ?? 'nsreport');
  const pageSize = opts.pageSize ?? 500;
  const backoff = opts.watchBackoffMs ?? { initial: 500, max: 30_000 };

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

  /** Server-side apply (fieldManager nsreport, force) of one namespaced custom object. */
  async function serverSideApply(
    kind: { group: string; version: string; plural: string },
    body: { metadata: { namespace: string; name: string } },
  ): Promise<void> {
    await call(
      (o) =>
        api.patchNamespacedCustomObject(
          {
            ...kind,
            namespace: body.metadata.namespace,
            name: body.metadata.name,
            body,
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
  }

  /** All pages of the node's reports, as one list with the resourceVersion to watch from. */
  async function listAll(selector: string): Promise<{
    items: RawReport[];
    metadata: { resourceVersion: string };
  }> {
    const items: RawReport[] = [];
    let cont: string | undefined;
    let resourceVersion = '';
    do {
      const page = await call<ListPage>(
        (o) =>
          api.listClusterCustomObject(
            {
              group: API_GROUP,
              version: VERSION,
              plural: PLURAL,
              labelSelector: selector,
              limit: pageSize,
              ...(cont ? { _continue: cont } : {}),
            },
            o,
          ) as Promise<ListPage>,
      );
      items.push(...(page.items ?? []));
      resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
      cont = page.metadata?.continue || undefined;
    } while (cont);
    return { items, metadata: { resourceVersion } };
  }

  return {
    watchNodeReports(node, handlers, signal): ReportCache {
      const selector = `${LABEL_NODE}=${labelValue(node)}`;
      const cache = new Map<string, StoredReport>();
      let synced = false;
      let retryMs = backoff.initial;
      let timer: NodeJS.Timeout | null = null;
      const path = `/apis/${API_GROUP}/${VERSION}/${PLURAL}`;
      const kubeWatch = new Watch(kc);
      // client-node's Watch, with bookmarks asked for (a restart resumes from a recent
      // resourceVersion instead of relisting) and a server-side timeout (a silently dead
      // connection is replaced). Its ListWatch relists on 410 Gone by itself.
      const watch = {
        watch(
          p: string,
          params: Record<string, string | number | boolean | undefined>,
          cb: (phase: string, obj: RawReport & { code?: number }, raw: unknown) => void,
          done: (err: unknown) => void,
        ): Promise<AbortController> {
          synced = true;
          retryMs = backoff.initial;
          return kubeWatch.watch(
            p,
            {
              ...params,
              allowWatchBookmarks: true,
              timeoutSeconds: opts.watchTimeoutSeconds ?? 300,
            },
            (phase: string, obj: RawReport & { code?: number }, raw: unknown) => {
              if (phase === 'ERROR' && obj.code === 410) handlers.onRestart('expired', null);
              cb(phase, obj, raw);
            },
            (err: unknown) => {
              if (err === null && !signal.aborted) handlers.onRestart('closed', null);
              done(err);
            },
          );
        },
      } as unknown as Watch;
      const informer = new ListWatch<RawReport>(
        path,
        watch,
        () => listAll(selector),
        false,
        selector,
      );
      const put = (o: RawReport): void => {
        const r = storedReport(o);
        if (r) cache.set(key(r.namespace, r.name), r);
        handlers.onChange();
      };
      informer.on('add', put);
      informer.on('update', put);
      informer.on('delete', (o: RawReport) => {
        cache.delete(key(o.metadata?.namespace ?? '', o.metadata?.name ?? ''));
        handlers.onChange();
      });
      informer.on('error', (err: unknown) => {
        if (signal.aborted) return;
        handlers.onRestart('error', toApiError(err));
        timer = setTimeout(() => {
          timer = null;
          if (!signal.aborted) void informer.start();
        }, retryMs);
        retryMs = Math.min(retryMs * 2, backoff.max);
      });
      signal.addEventListener(
        'abort',
        () => {
          if (timer) clearTimeout(timer);
          void informer.stop();
        },
        { once: true },
      );
      void informer.start();
      return {
        get synced() {
          return synced;
        },
        get: (namespace, name) => cache.get(key(namespace, name)),
        list: () => [...cache.values()],
      };
    },
    async get(namespace, name): Promise<StoredReport | null> {
      try {
        const o = await call(
          (c) =>
            api.getNamespacedCustomObject(
              { group: API_GROUP, version: VERSION, plural: PLURAL, namespace, name },
              c,
            ) as Promise<RawReport>,
        );
        return storedReport(o);
      } catch (err) {
        if (toApiError(err).kind === 'not-found') return null;
        throw err;
      }
    },
    async apply(report, resourceVersion): Promise<void> {
      const body =
        resourceVersion === null
          ? report
          : { ...report, metadata: { ...report.metadata, resourceVersion } };
      await serverSideApply({ group: API_GROUP, version: VERSION, plural: PLURAL }, body);
    },
    async remove(r): Promise<void> {
      try {
        await call(
          (o) =>
            api.deleteNamespacedCustomObject(
              {
                group: API_GROUP,
                version: VERSION,
                plural: PLURAL,
                namespace: r.namespace,
                name: r.name,
                body: deleteOptions(r),
              },
              o,
            ) as Promise<unknown>,
        );
      } catch (err) {
        if (toApiError(err).kind !== 'not-found') throw err;
      }
    },
    async listOpenReports(node): Promise<StoredOpenReport[]> {
      const out: StoredOpenReport[] = [];
      let cont: string | undefined;
      do {
        const page = await call<ListPage>(
          (o) =>
            api.listClusterCustomObject(
              {
                ...OPEN,
                labelSelector: `${LABEL_MANAGED_BY}=nsreport,${LABEL_NODE}=${labelValue(node)}`,
                limit: pageSize,
                ...(cont ? { _continue: cont } : {}),
              },
              o,
            ) as Promise<ListPage>,
        );
        for (const o of page.items ?? []) out.push(storedOpenReport(o));
        cont = page.metadata?.continue || undefined;
      } while (cont);
      return out;
    },
    async applyOpenReport(report): Promise<void> {
      await serverSideApply(OPEN, report);
    },
    async removeOpenReport(r): Promise<void> {
      try {
        await call(
          (o) =>
            api.deleteNamespacedCustomObject(
              { ...OPEN, namespace: r.namespace, name: r.name, body: deleteOptions(r) },
              o,
            ) as Promise<unknown>,
        );
      } catch (err) {
        if (toApiError(err).kind !== 'not-found') throw err;
      }
    },
    async nodeUid(node): Promise<string | null> {
      try {
        const n = await call((o) => core.readNode({ name: node }, o));
        return n.metadata?.uid ?? null;
      } catch (err) {
        if (toApiError(err).kind === 'not-found') return null;
        throw err;
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
