import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  type V1DaemonSet,
  type V1PodSpec,
} from '@kubernetes/client-node';
import type { AgentDaemonSet, NodeInfo } from '../audit/scope.js';
import type { NamespaceReport } from '../report/types.js';
import { labelValue } from '../report/report.js';
import { API_GROUP, LABEL_NODE } from '../report/types.js';
import { toApiError } from './errors.js';
import { requestOptions } from './store.js';

/**
 * What `nsreport audit` reads, with kubectl's kubeconfig conventions ($KUBECONFIG, ~/.kube/config,
 * --kubeconfig, --context). Lists are read page by page (limit/continue) and handed over one page
 * at a time. Errors are ApiError.
 */
export interface ClusterReader {
  readonly server: string;
  eachReportPage(
    o: { namespace: string | null; labelSelector: string; pageSize: number },
    onPage: (items: NamespaceReport[]) => void,
  ): Promise<void>;
  eachPodPage(
    o: { namespace: string | null; pageSize: number },
    onPage: (pods: PodSummary[]) => void,
  ): Promise<void>;
  /** Whether any report carries the node's label (one item read). */
  nodeHasReports(node: string): Promise<boolean>;
  /** The report of a pod, or null. */
  getReport(namespace: string, name: string): Promise<NamespaceReport | null>;
  /** The agent DaemonSets (label app.kubernetes.io/name=nsreport); null when not allowed. */
  agentDaemonSets(): Promise<AgentDaemonSet[] | null>;
  /** Every node's labels and taints; null when not allowed. */
  nodes(): Promise<Map<string, NodeInfo> | null>;
}

/** A DaemonSet's scheduling constraints, as the scope check needs them. */
function agentDaemonSet(ds: V1DaemonSet): AgentDaemonSet {
  const spec: V1PodSpec | undefined = ds.spec?.template.spec;
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
  const version = ds.metadata?.labels?.['app.kubernetes.io/version'];
  return {
    ...(image !== undefined ? { image } : {}),
    ...(version !== undefined ? { version } : {}),
    ready: ds.status?.numberReady ?? 0,
    desired: ds.status?.desiredNumberScheduled ?? 0,
  };
}

function requiredTerms(spec: V1PodSpec | undefined): AgentDaemonSet['nodeSelectorTerms'] {
  const required = spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  return required?.nodeSelectorTerms ?? [];
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

export interface PodSummary {
  readonly namespace: string;
  readonly name: string;
  readonly node: string;
  readonly hostNetwork: boolean;
}

export function loadUserKubeConfig(path: string | null, context: string | null): KubeConfig {
  const kc = new KubeConfig();
  if (path !== null) kc.loadFromFile(path);
  else kc.loadFromDefault();
  if (context !== null) {
    if (!kc.getContexts().some((c) => c.name === context))
      throw new Error(`context "${context}" is not in the kubeconfig`);
    kc.setCurrentContext(context);
  }
  if (!kc.getCurrentCluster())
    throw new Error('no cluster in the kubeconfig (set KUBECONFIG or pass --kubeconfig)');
  return kc;
}

interface Page<T> {
  items?: T[];
  /** Raw JSON (custom objects) says `continue`; client-node's typed lists say `_continue`. */
  metadata?: { continue?: string; _continue?: string };
}

async function paginate<T>(
  fetch: (cont: string | undefined) => Promise<Page<T>>,
  onPage: (items: T[]) => void,
): Promise<void> {
  let cont: string | undefined;
  do {
    let page: Page<T>;
    try {
      page = await fetch(cont);
    } catch (err) {
      throw toApiError(err);
    }
    onPage(page.items ?? []);
    cont = page.metadata?.continue || page.metadata?._continue || undefined;
  } while (cont);
}

export function createClusterReader(kc: KubeConfig, timeoutMs: number): ClusterReader {
  const custom = kc.makeApiClient(CustomObjectsApi);
  const core = kc.makeApiClient(CoreV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  const o = requestOptions(timeoutMs, 'nsreport-audit');
  const base = { group: API_GROUP, version: 'v1alpha1', plural: 'namespacereports' };
  return {
    server: kc.getCurrentCluster()?.server ?? '',
    eachReportPage({ namespace, labelSelector, pageSize }, onPage) {
      return paginate<NamespaceReport>(
        (cont) =>
          (namespace === null
            ? custom.listClusterCustomObject(
                { ...base, labelSelector, limit: pageSize, ...(cont ? { _continue: cont } : {}) },
                o,
              )
            : custom.listNamespacedCustomObject(
                {
                  ...base,
                  namespace,
                  labelSelector,
                  limit: pageSize,
                  ...(cont ? { _continue: cont } : {}),
                },
                o,
              )) as Promise<Page<NamespaceReport>>,
        onPage,
      );
    },
    eachPodPage({ namespace, pageSize }, onPage) {
      return paginate(
        (cont) => {
          const q = { limit: pageSize, ...(cont ? { _continue: cont } : {}) };
          return namespace === null
            ? core.listPodForAllNamespaces(q, o)
            : core.listNamespacedPod({ namespace, ...q }, o);
        },
        (items) => {
          onPage(
            items.map((p) => ({
              namespace: p.metadata?.namespace ?? '',
              name: p.metadata?.name ?? '',
              node: p.spec?.nodeName ?? '',
              hostNetwork: p.spec?.hostNetwork === true,
            })),
          );
        },
      );
    },
    async nodeHasReports(node) {
      let found = false;
      try {
        const page = (await custom.listClusterCustomObject(
          { ...base, labelSelector: `${LABEL_NODE}=${labelValue(node)}`, limit: 1 },
          o,
        )) as Page<unknown>;
        found = (page.items ?? []).length > 0;
      } catch (err) {
        throw toApiError(err);
      }
      return found;
    },
    agentDaemonSets() {
      return ifAllowed(async () => {
        const list = await apps.listDaemonSetForAllNamespaces(
          { labelSelector: 'app.kubernetes.io/name=nsreport' },
          o,
        );
        return list.items.map(agentDaemonSet);
      });
    },
    nodes() {
      return ifAllowed(async () => {
        const out = new Map<string, NodeInfo>();
        await paginate(
          (cont) => core.listNode({ limit: 500, ...(cont ? { _continue: cont } : {}) }, o),
          (items) => {
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
          },
        );
        return out;
      });
    },
    async getReport(namespace, name) {
      try {
        return (await custom.getNamespacedCustomObject(
          { ...base, namespace, name },
          o,
        )) as NamespaceReport;
      } catch (err) {
        const e = toApiError(err);
        if (e.kind === 'not-found') return null;
        throw e;
      }
    },
  };
}
