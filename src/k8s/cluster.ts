import type { IsolationAsks, NodeRuntimeFeatures } from '../audit/features.js';
import type { ClusterReader, PodSummary } from '../audit/reader.js';
import type {
  AgentDaemonSet,
  NodeInfo,
  NodeSelectorRequirement,
  NodeSelectorTerm,
  Toleration,
} from '../audit/scope.js';
import { AGENT_SELECTOR, LABEL_NODE, LABEL_VERSION } from '../report/types.js';
import { connect } from './connection.js';
import { toApiError } from './errors.js';
import {
  createRestClient,
  eachListed,
  eachPage,
  resourcePath,
  type Resource,
  type RestClient,
} from './rest.js';
import {
  at,
  count,
  objects,
  optionalText,
  stringMap,
  strings,
  text,
  type JsonObject,
} from './json.js';
import {
  DAEMONSETS,
  MIRROR_ANNOTATION,
  NAMESPACES,
  NODES,
  PODS,
  REPORTS,
  RUNTIMECLASSES,
} from './resources.js';

/*
 * core/v1 Pods and Nodes and apps/v1 DaemonSets as the audit reads them: every field through
 * json.ts, so an object of an unexpected shape reads as an empty one instead of throwing.
 */

function toleration(t: JsonObject): Toleration {
  const out: { key?: string; operator?: string; value?: string; effect?: string } = {};
  for (const k of ['key', 'operator', 'value', 'effect'] as const) {
    const v = optionalText(t[k]);
    if (v !== undefined) out[k] = v;
  }
  return out;
}

function requirements(v: unknown): NodeSelectorRequirement[] {
  return objects(v).map((r) => ({
    key: text(r.key),
    operator: text(r.operator),
    values: strings(r.values),
  }));
}

/** Required node affinity of a pod spec. */
function requiredTerms(spec: unknown): NodeSelectorTerm[] {
  const required = at(
    spec,
    'affinity',
    'nodeAffinity',
    'requiredDuringSchedulingIgnoredDuringExecution',
  );
  return objects(at(required, 'nodeSelectorTerms')).map((t) => ({
    matchExpressions: requirements(t.matchExpressions),
    matchFields: requirements(t.matchFields),
  }));
}

/** A DaemonSet's scheduling constraints and rollout, as the scope check and `version` need them. */
function agentDaemonSet(ds: JsonObject): AgentDaemonSet {
  const spec = at(ds, 'spec', 'template', 'spec');
  const image = optionalText(at(objects(at(spec, 'containers'))[0], 'image'));
  const version = optionalText(at(ds, 'metadata', 'labels', LABEL_VERSION));
  return {
    namespace: text(at(ds, 'metadata', 'namespace')),
    name: text(at(ds, 'metadata', 'name')),
    nodeSelector: stringMap(at(spec, 'nodeSelector')),
    nodeSelectorTerms: requiredTerms(spec),
    tolerations: objects(at(spec, 'tolerations')).map(toleration),
    ...(image !== undefined ? { image } : {}),
    ...(version !== undefined ? { version } : {}),
    ready: count(at(ds, 'status', 'numberReady')),
    desired: count(at(ds, 'status', 'desiredNumberScheduled')),
  };
}

/** What a Pod spec asks of the newer isolation features (audit/features.ts). */
export function isolationAsks(spec: unknown): IsolationAsks | undefined {
  const containers = [
    ...objects(at(spec, 'containers')),
    ...objects(at(spec, 'initContainers')),
    ...objects(at(spec, 'ephemeralContainers')),
  ];
  const rro = containers.some((c) =>
    objects(c.volumeMounts).some((m) => m.recursiveReadOnly === 'Enabled'),
  );
  const runtimeClass = optionalText(at(spec, 'runtimeClassName'));
  const asks: IsolationAsks = {
    ...(at(spec, 'hostUsers') === false ? { userNamespace: true as const } : {}),
    ...(rro ? { recursiveReadOnly: true as const } : {}),
    ...(at(spec, 'securityContext', 'supplementalGroupsPolicy') === 'Strict'
      ? { strictGroups: true as const }
      : {}),
    ...(runtimeClass ? { runtimeClass } : {}),
  };
  return Object.keys(asks).length > 0 ? asks : undefined;
}

/** A Node's `status.runtimeHandlers` and `status.features`; undefined when it says neither. */
export function runtimeFeatures(status: unknown): NodeRuntimeFeatures | undefined {
  const handlers = at(status, 'runtimeHandlers');
  const policy = at(status, 'features', 'supplementalGroupsPolicy');
  const minor = Number(
    /^v1\.(\d+)\./.exec(text(at(status, 'nodeInfo', 'kubeletVersion')))?.[1] ?? 0,
  );
  if (!Array.isArray(handlers)) {
    // A kubelet ≥ 1.30 publishes what its runtime says it gives: nothing said is nothing given
    // (it refuses such pods: "runtime does not support user namespaces"); an older one says
    // nothing of anything.
    if (minor < 30) return undefined;
    return {
      handlers: [],
      supplementalGroupsPolicy: typeof policy === 'boolean' ? policy : minor >= 31 ? false : null,
    };
  }
  return {
    handlers: objects(handlers)
      .slice(0, 64)
      .map((h) => ({
        name: text(h.name).slice(0, 253),
        userNamespaces: at(h, 'features', 'userNamespaces') === true,
        recursiveReadOnlyMounts: at(h, 'features', 'recursiveReadOnlyMounts') === true,
      })),
    supplementalGroupsPolicy: typeof policy === 'boolean' ? policy : null,
  };
}

function podSummary(p: JsonObject): PodSummary {
  const md = at(p, 'metadata');
  const spec = at(p, 'spec');
  const asked = isolationAsks(spec);
  // A kubelet rejects a Strict pod its runtime cannot serve at admission: the pod is Failed.
  const reason = text(at(p, 'status', 'reason'));
  const asks =
    asked && text(at(p, 'status', 'phase')) === 'Failed' && reason !== ''
      ? { ...asked, rejected: reason.slice(0, 128) }
      : asked;
  return {
    namespace: text(at(md, 'namespace')),
    name: text(at(md, 'name')),
    uid: text(at(md, 'uid')),
    mirrorOf: text(at(md, 'annotations', MIRROR_ANNOTATION)),
    node: text(at(spec, 'nodeName')),
    phase: text(at(p, 'status', 'phase')),
    hostNetwork: at(spec, 'hostNetwork') === true,
    hostPID: at(spec, 'hostPID') === true,
    hostIPC: at(spec, 'hostIPC') === true,
    ...(asks ? { asks } : {}),
  };
}

function nodeInfo(n: JsonObject): NodeInfo {
  const runtime = runtimeFeatures(at(n, 'status'));
  return {
    name: text(at(n, 'metadata', 'name')),
    labels: stringMap(at(n, 'metadata', 'labels')),
    taints: objects(at(n, 'spec', 'taints')).map((t) => {
      const value = optionalText(t.value);
      return {
        key: text(t.key),
        effect: text(t.effect),
        ...(value !== undefined ? { value } : {}),
      };
    }),
    ...(runtime ? { runtime } : {}),
  };
}

/** null for a permission error (the caller says what it assumed), else rethrown as ApiError. */
async function ifAllowed<T>(fn: () => Promise<T>): Promise<T | null> {
  try {
    return await fn();
  } catch (err) {
    const e = toApiError(err);
    if (e.kind === 'forbidden' || e.kind === 'unauthorized') return null;
    throw e;
  }
}

/**
 * The reader of the cluster a kubeconfig names, with kubectl's conventions ($KUBECONFIG,
 * ~/.kube/config, --kubeconfig, --context).
 */
export async function connectClusterReader(o: {
  kubeconfig: string | null;
  context: string | null;
  timeoutMs: number;
}): Promise<ClusterReader> {
  const conn = await connect({
    kubeconfig: o.kubeconfig,
    context: o.context,
    defaults: true,
    timeoutMs: o.timeoutMs,
  });
  return createClusterReader(
    createRestClient(conn, { timeoutMs: o.timeoutMs, userAgent: 'nsreport-audit' }),
  );
}

/** A kind's objects, cluster-wide or in one namespace. */
const listPath = (kind: Resource, namespace: string | null): string =>
  resourcePath(kind, namespace === null ? {} : { namespace });

export function createClusterReader(rest: RestClient): ClusterReader {
  return {
    server: rest.server,
    eachReportPage({ namespace, labelSelector, pageSize }, onPage) {
      return eachListed(
        rest,
        listPath(REPORTS, namespace),
        { labelSelector, limit: pageSize },
        onPage,
      );
    },
    async eachPodPage({ namespace, pageSize }, onPage) {
      const read = await ifAllowed(async () => {
        await eachListed(rest, listPath(PODS, namespace), { limit: pageSize }, (items) => {
          // A Pod without a name can hold no report against it.
          onPage(items.map(podSummary).filter((p) => p.name !== '' && p.namespace !== ''));
        });
        return true;
      });
      return read ?? false;
    },
    agentDaemonSets() {
      return ifAllowed(async () => {
        const out: AgentDaemonSet[] = [];
        await eachPage<JsonObject>(
          rest,
          resourcePath(DAEMONSETS),
          { labelSelector: AGENT_SELECTOR, limit: 500 },
          (items) => {
            out.push(...items.map(agentDaemonSet));
          },
        );
        return out;
      });
    },
    runtimeClasses() {
      return ifAllowed(async () => {
        const out = new Map<string, string>();
        await eachPage<JsonObject>(rest, resourcePath(RUNTIMECLASSES), { limit: 500 }, (items) => {
          for (const rc of items) out.set(text(at(rc, 'metadata', 'name')), text(rc.handler));
        });
        return out;
      });
    },
    nodes() {
      return ifAllowed(async () => {
        const out = new Map<string, NodeInfo>();
        await eachPage<JsonObject>(rest, resourcePath(NODES), { limit: 500 }, (items) => {
          for (const n of items.map(nodeInfo)) out.set(n.name, n);
        });
        return out;
      });
    },
  };
}

/** What `nsreport describe` reads of a cluster: one report, its Pod, its node's other reports. */
export interface DescribeReader {
  readonly server: string;
  /** The kubeconfig context's namespace, when it names one. */
  readonly namespace: string | undefined;
  /** The report of that name as the API holds it (unchecked); null when there is none. */
  report(namespace: string, name: string): Promise<unknown>;
  /** The Pod of that name: null when there is none, 'forbidden' when not allowed to read it. */
  pod(namespace: string, name: string): Promise<PodSummary | null | 'forbidden'>;
  /** Every report that claims the node (its label), unchecked; null when not allowed to list. */
  nodeReports(node: string): Promise<unknown[] | null>;
}

/** null for a 404 (nothing of that name), else the object; other errors are thrown. */
async function ifFound<T>(fn: () => Promise<T>): Promise<T | null> {
  try {
    return await fn();
  } catch (err) {
    const e = toApiError(err);
    if (e.kind === 'not-found') return null;
    throw e;
  }
}

export async function connectDescribeReader(o: {
  kubeconfig: string | null;
  context: string | null;
  timeoutMs: number;
}): Promise<DescribeReader> {
  const conn = await connect({ ...o, defaults: true });
  const rest = createRestClient(conn, { timeoutMs: o.timeoutMs, userAgent: 'nsreport-describe' });
  return {
    server: rest.server,
    namespace: conn.namespace,
    report: (namespace, name) =>
      ifFound(() => rest.request<unknown>('GET', resourcePath(REPORTS, { namespace, name }))),
    async pod(namespace, name) {
      try {
        return podSummary(
          await rest.request<JsonObject>('GET', resourcePath(PODS, { namespace, name })),
        );
      } catch (err) {
        const e = toApiError(err);
        if (e.kind === 'not-found') return null;
        if (e.kind === 'forbidden') return 'forbidden';
        throw e;
      }
    },
    nodeReports(node) {
      return ifAllowed(async () => {
        const out: unknown[] = [];
        await eachPage<unknown>(
          rest,
          resourcePath(REPORTS),
          { labelSelector: `${LABEL_NODE}=${node}`, limit: 500 },
          (items) => {
            out.push(...items);
          },
        );
        return out;
      });
    },
  };
}

/** The names shell completion offers: the first page of each list is enough to type from. */
export async function connectNameReader(o: {
  kubeconfig: string | null;
  context: string | null;
  timeoutMs: number;
}): Promise<{
  namespaces(): Promise<string[]>;
  reports(namespace: string | null): Promise<string[]>;
}> {
  const conn = await connect({ ...o, defaults: true });
  const rest = createRestClient(conn, { timeoutMs: o.timeoutMs, userAgent: 'nsreport-complete' });
  const firstPage = async (path: string): Promise<JsonObject[]> =>
    objects(at(await rest.request<JsonObject>('GET', path, { query: { limit: 500 } }), 'items'));
  return {
    async namespaces() {
      return (await firstPage(resourcePath(NAMESPACES))).map((n) =>
        text(at(n, 'metadata', 'name')),
      );
    },
    async reports(namespace) {
      return (await firstPage(listPath(REPORTS, namespace))).map(
        (r) => `${text(at(r, 'metadata', 'namespace'))}/${text(at(r, 'metadata', 'name'))}`,
      );
    },
  };
}
