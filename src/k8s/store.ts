import type { OpenReport } from '../report/openreport.js';
import {
  ANNOTATION_CONTENT_HASH,
  LABEL_MANAGED_BY,
  LABEL_NODE,
  MANAGER,
  type NamespaceReport,
} from '../report/types.js';
import { contentHash, HOST_LABELS, labelSays, labelValue } from '../report/report.js';
import { toApiError } from './errors.js';
import type { RateLimiter } from './ratelimit.js';
import { MIRROR_ANNOTATION, NODES, OPEN_REPORTS, PODS, REPORTS } from './resources.js';
import { at, objects, stringMap, text, type JsonObject } from './json.js';
import { reflect, type Reflection, type WatchHandlers } from './reflector.js';
import { groupVersionPath, resourcePath, type Resource, type RestClient } from './rest.js';

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
  /**
   * The host labels that say "shared" (any value but "false"): one the body does not stand for
   * is someone else's, which a server-side apply without it would leave.
   */
  readonly hostLabels: readonly string[];
}

/** What the API holds for one node, kept current by a list + watch (reflector.ts). */
export type ReportCache = Reflection<StoredReport>;

export type { WatchHandlers, WatchRestart } from './reflector.js';

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
  /**
   * Where the API binds a Pod (its UID and spec.nodeName) and the images its spec names, or null
   * when there is no such Pod.
   */
  podBinding(namespace: string, name: string): Promise<PodBinding | null>;
  /**
   * Lists and then watches this node's OpenReports (label), each with the hash it was written
   * with, until the signal aborts.
   */
  watchOpenReports(
    node: string,
    handlers: WatchHandlers,
    signal: AbortSignal,
  ): Reflection<StoredOpenReport>;
  /** Server-side apply of an OpenReports Report. */
  applyOpenReport(report: OpenReport): Promise<void>;
  /** Deletes an OpenReports Report if it is still the object seen; gone = done. */
  removeOpenReport(report: StoredOpenReport): Promise<void>;
  /** A cheap authenticated read, for readiness. */
  ping(): Promise<void>;
}

/** A Pod as the API holds it: who it is and which node it is bound to. */
export interface PodBinding {
  readonly uid: string;
  /** `spec.nodeName` ('' while unscheduled). */
  readonly node: string;
  /** A mirror Pod's MIRROR_ANNOTATION: the static pod's UID in CRI ('' for other Pods). */
  readonly mirrorOf: string;
  /** Container name → the image its spec names (containers, init and ephemeral containers). */
  readonly images?: Readonly<Record<string, string>>;
}

/** Container name → image of a Pod spec's containers, init and ephemeral containers (json.ts). */
function specImages(spec: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const field of ['containers', 'initContainers', 'ephemeralContainers'])
    for (const c of objects(at(spec, field))) {
      const name = text(c.name);
      const image = text(c.image);
      if (name && image) out[name] = image;
    }
  return out;
}

/** An OpenReports Report as listed: where, which object, and the hash it was written with. */
export interface StoredOpenReport {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly resourceVersion: string;
  readonly hash: string;
}

function storedOpenReport(o: unknown): StoredOpenReport | null {
  const namespace = text(at(o, 'metadata', 'namespace'));
  const name = text(at(o, 'metadata', 'name'));
  if (!namespace || !name) return null;
  return {
    namespace,
    name,
    uid: text(at(o, 'metadata', 'uid')),
    resourceVersion: text(at(o, 'metadata', 'resourceVersion')),
    hash: text(at(o, 'metadata', 'annotations', ANNOTATION_CONTENT_HASH)),
  };
}

export interface StoreOptions {
  readonly limiter: RateLimiter;
  readonly pageSize?: number;
  /** Server-side timeout of one watch request (it is then resumed from its resourceVersion). */
  readonly watchTimeoutSeconds?: number;
  /** First and largest delay before a failed list/watch is tried again. */
  readonly watchBackoffMs?: { readonly initial: number; readonly max: number };
}

/** A report as the API holds it: anyone may have written any shape (json.ts reads it). */
type RawReport = JsonObject;

/** The StoredReport of an object read from the API (null when it lacks a name). */
export function storedReport(o: unknown): StoredReport | null {
  const namespace = text(at(o, 'metadata', 'namespace'));
  const name = text(at(o, 'metadata', 'name'));
  return namespace && name ? { namespace, name, ...identity(o) } : null;
}

function identity(o: unknown): Omit<StoredReport, 'namespace' | 'name'> {
  const labels = stringMap(at(o, 'metadata', 'labels'));
  return {
    hostLabels: HOST_LABELS.filter((k) => labelSays(labels, k) !== undefined),
    uid: text(at(o, 'metadata', 'uid')),
    resourceVersion: text(at(o, 'metadata', 'resourceVersion')),
    nodeLabel: text(at(o, 'metadata', 'labels', LABEL_NODE)),
    podUid: text(at(o, 'report', 'pod', 'uid')),
    sandboxReady: at(o, 'report', 'sandbox', 'state') === 'ready',
    hash: contentHash({
      metadata: {
        labels,
        ownerReferences: objects(at(o, 'metadata', 'ownerReferences')).map((r) => ({
          kind: text(r.kind),
          name: text(r.name),
          uid: text(r.uid),
        })),
      },
      report: at(o, 'report'),
    }),
  };
}

/** Delete only the object that was seen: same UID, same resourceVersion. */
function deleteOptions(r: Pick<StoredReport, 'uid' | 'resourceVersion'>): object {
  return {
    kind: 'DeleteOptions',
    apiVersion: 'v1',
    preconditions: {
      ...(r.uid ? { uid: r.uid } : {}),
      ...(r.resourceVersion ? { resourceVersion: r.resourceVersion } : {}),
    },
  };
}

/**
 * The NamespaceReport (and OpenReports) calls of the agent, over the small REST client; this
 * node's reports of each kind are watched (reflector.ts).
 */
// eslint-disable-next-line max-lines-per-function -- a factory: its closure is the module
export function createReportStore(rest: RestClient, opts: StoreOptions): ReportStore {
  const pageSize = opts.pageSize ?? 500;
  const backoff = opts.watchBackoffMs ?? { initial: 500, max: 30_000 };

  /** Every request but the watch's waits for the rate limiter. */
  const limited: RestClient = {
    server: rest.server,
    watch: rest.watch,
    async request<T>(...args: Parameters<RestClient['request']>): Promise<T> {
      await opts.limiter.take();
      return rest.request<T>(...args);
    },
  };
  const call = limited.request;
  const reflecting = {
    list: limited,
    watch: rest,
    pageSize,
    watchTimeoutSeconds: opts.watchTimeoutSeconds ?? 300,
    backoff,
  };

  /** Server-side apply (fieldManager nsreport, force) of one namespaced custom object. */
  async function serverSideApply(
    kind: Resource,
    body: { metadata: { namespace: string; name: string } },
  ): Promise<void> {
    await call('PATCH', resourcePath(kind, body.metadata), {
      query: { fieldManager: MANAGER, force: true },
      body,
      contentType: 'application/apply-patch+yaml',
    });
  }

  /** Deletes the object seen (preconditions); already gone = done. */
  async function removeSeen(
    kind: Resource,
    r: Pick<StoredReport, 'namespace' | 'name' | 'uid' | 'resourceVersion'>,
  ): Promise<void> {
    try {
      await call('DELETE', resourcePath(kind, r), { body: deleteOptions(r) });
    } catch (err) {
      if (toApiError(err).kind !== 'not-found') throw err;
    }
  }

  return {
    watchNodeReports: (node, handlers, signal) =>
      reflect(
        {
          ...reflecting,
          path: resourcePath(REPORTS),
          labelSelector: `${LABEL_NODE}=${labelValue(node)}`,
          decode: storedReport,
        },
        handlers,
        signal,
      ),
    async get(namespace, name): Promise<StoredReport | null> {
      try {
        return storedReport(
          await call<RawReport>('GET', resourcePath(REPORTS, { namespace, name })),
        );
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
      await serverSideApply(REPORTS, body);
    },
    remove: (r) => removeSeen(REPORTS, r),
    watchOpenReports: (node, handlers, signal) =>
      reflect(
        {
          ...reflecting,
          path: resourcePath(OPEN_REPORTS),
          labelSelector: `${LABEL_MANAGED_BY}=${MANAGER},${LABEL_NODE}=${labelValue(node)}`,
          decode: storedOpenReport,
        },
        handlers,
        signal,
      ),
    async applyOpenReport(report): Promise<void> {
      await serverSideApply(OPEN_REPORTS, report);
    },
    removeOpenReport: (r) => removeSeen(OPEN_REPORTS, r),
    async nodeUid(node): Promise<string | null> {
      try {
        const n = await call<unknown>('GET', resourcePath(NODES, { name: node }));
        return text(at(n, 'metadata', 'uid')) || null;
      } catch (err) {
        if (toApiError(err).kind === 'not-found') return null;
        throw err;
      }
    },
    async podBinding(namespace, name): Promise<PodBinding | null> {
      try {
        const p = await call<unknown>('GET', resourcePath(PODS, { namespace, name }));
        return {
          uid: text(at(p, 'metadata', 'uid')),
          node: text(at(p, 'spec', 'nodeName')),
          mirrorOf: text(at(p, 'metadata', 'annotations', MIRROR_ANNOTATION)),
          images: specImages(at(p, 'spec')),
        };
      } catch (err) {
        if (toApiError(err).kind === 'not-found') return null;
        throw err;
      }
    },
    async ping(): Promise<void> {
      // The reports' group version (discovery): answered from memory whatever the number of
      // reports, 404 when the CRD is gone, 401 for a token that is not valid. A list, even of
      // limit=1, makes the API server's watch cache walk every report of the cluster (~0.4 µs
      // each, kube-apiserver 1.35: 13 ms of its CPU at 30,000 reports), and every idle agent pings
      // once a resync.
      await call('GET', groupVersionPath(REPORTS));
    },
  };
}
