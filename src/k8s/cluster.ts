import type { ClusterReader, PodSummary } from '../audit/reader.js';
import type {
  AgentDaemonSet,
  NodeInfo,
  NodeSelectorTerm,
  Taint,
  Toleration,
} from '../audit/scope.js';
import type { NamespaceReport } from '../report/types.js';
import { AGENT_SELECTOR, LABEL_VERSION } from '../report/types.js';
import { connect } from './connection.js';
import { toApiError } from './errors.js';
import {
  createRestClient,
  eachPage,
  resourcePath,
  type Resource,
  type RestClient,
} from './rest.js';
import {
  DAEMONSETS,
  MIRROR_ANNOTATION,
  NODES,
  PODS,
  REPORTS,
  type KubernetesObject,
} from './resources.js';

/** The fields of core/v1 and apps/v1 objects the audit reads. */
interface PodSpec {
  nodeName?: string;
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
  nodeSelector?: Record<string, string>;
  tolerations?: Toleration[];
  containers: { image?: string }[];
  affinity?: {
    nodeAffinity?: {
      requiredDuringSchedulingIgnoredDuringExecution?: { nodeSelectorTerms?: NodeSelectorTerm[] };
    };
  };
}
interface V1Pod extends KubernetesObject {
  spec?: PodSpec;
  status?: { phase?: string };
}
interface V1DaemonSet extends KubernetesObject {
  spec?: { template: { spec?: PodSpec } };
  status?: { numberReady?: number; desiredNumberScheduled?: number };
}
interface V1Node extends KubernetesObject {
  spec?: { taints?: Taint[] };
}

/** A DaemonSet's scheduling constraints, as the scope check needs them. */
function agentDaemonSet(ds: V1DaemonSet): AgentDaemonSet {
  const spec = ds.spec?.template.spec;
  return {
    namespace: ds.metadata?.namespace ?? '',
    name: ds.metadata?.name ?? '',
    nodeSelector: spec?.nodeSelector ?? {},
    nodeSelectorTerms: requiredTerms(spec),
    tolerations: spec?.tolerations ?? [],
    ...rollout(ds),
  };
}

function rollout(ds: V1DaemonSet): Pick<AgentDaemonSet, 'image' | 'version' | 'ready' | 'desired'> {
  const image = ds.spec?.template.spec?.containers[0]?.image;
  const version = ds.metadata?.labels?.[LABEL_VERSION];
  return {
    ...(image !== undefined ? { image } : {}),
    ...(version !== undefined ? { version } : {}),
    ready: ds.status?.numberReady ?? 0,
    desired: ds.status?.desiredNumberScheduled ?? 0,
  };
}

function requiredTerms(spec: PodSpec | undefined): AgentDaemonSet['nodeSelectorTerms'] {
  const required = spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  return required?.nodeSelectorTerms ?? [];
}

function podSummary(p: V1Pod): PodSummary {
  const md: NonNullable<V1Pod['metadata']> = p.metadata ?? {};
  const spec: Partial<PodSpec> = p.spec ?? {};
  return {
    namespace: md.namespace ?? '',
    name: md.name ?? '',
    uid: md.uid ?? '',
    mirrorOf: md.annotations?.[MIRROR_ANNOTATION] ?? '',
    node: spec.nodeName ?? '',
    phase: p.status?.phase ?? '',
    hostNetwork: spec.hostNetwork === true,
    hostPID: spec.hostPID === true,
    hostIPC: spec.hostIPC === true,
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
  const conn = await connect({ kubeconfig: o.kubeconfig, context: o.context, defaults: true });
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
      return eachPage<NamespaceReport>(
        rest,
        listPath(REPORTS, namespace),
        { labelSelector, limit: pageSize },
        onPage,
      );
    },
    async eachPodPage({ namespace, pageSize }, onPage) {
      const read = await ifAllowed(async () => {
        await eachPage<V1Pod>(rest, listPath(PODS, namespace), { limit: pageSize }, (items) => {
          onPage(items.map(podSummary));
        });
        return true;
      });
      return read ?? false;
    },
    agentDaemonSets() {
      return ifAllowed(async () => {
        const list = await rest.request<{ items?: V1DaemonSet[] }>(
          'GET',
          resourcePath(DAEMONSETS),
          {
            query: { labelSelector: AGENT_SELECTOR },
          },
        );
        return (list.items ?? []).map(agentDaemonSet);
      });
    },
    nodes() {
      return ifAllowed(async () => {
        const out = new Map<string, NodeInfo>();
        await eachPage<V1Node>(rest, resourcePath(NODES), { limit: 500 }, (items) => {
          for (const n of items) {
            const name = n.metadata?.name ?? '';
            out.set(name, {
              name,
              labels: n.metadata?.labels ?? {},
              taints: (n.spec?.taints ?? []).map((t) => ({
                key: t.key,
                effect: t.effect,
                ...(t.value !== undefined ? { value: t.value } : {}),
              })),
            });
          }
        });
        return out;
      });
    },
  };
}
