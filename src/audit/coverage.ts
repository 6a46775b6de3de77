import { interner, type AuditCoverage, type ReportTally } from './audit.js';
import type { ClusterReader, PodSummary } from './reader.js';
import { unmetRequests, type NodeFeatureRow } from './features.js';
import { describeScope, splitByScope } from './scope.js';

/** Where the audit looks: one namespace or all (null), one node or all (null). */
export interface CoverageScope {
  readonly namespace: string | null;
  readonly node: string | null;
  readonly pageSize: number;
}

/**
 * Every Pod in the namespace scope, by namespace/name: what each report is held against. All
 * nodes' pods even with `--node`: a report may claim a node its Pod is not on. Null when the
 * caller may not list pods.
 */
export async function readPods(
  reader: ClusterReader,
  scope: CoverageScope,
): Promise<Map<string, PodSummary> | null> {
  const pods = new Map<string, PodSummary>();
  // A node's name once for its pods: 150,000 copies are ~6 MiB.
  const intern = interner();
  const allowed = await reader.eachPodPage(
    { namespace: scope.namespace, pageSize: scope.pageSize },
    (page) => {
      for (const p of page) pods.set(`${p.namespace}/${p.name}`, { ...p, node: intern(p.node) });
    },
  );
  return allowed ? pods : null;
}

type PodRef = AuditCoverage['podsWithoutReport'][number];

const byName = (x: PodRef, y: PodRef): number =>
  `${x.namespace}/${x.name}` < `${y.namespace}/${y.name}` ? -1 : 1;

/**
 * What the reports cannot say about themselves: nodes that run pods but have no report that
 * holds against a Pod bound to them (no agent there, or only forged reports), running pods
 * without a report, reports without a Pod, and hostNetwork pods (by their spec) whose report does
 * not observe the host network. `pods`: readPods' answer; `tally`: every report read.
 */
export async function coverage(
  reader: ClusterReader,
  scope: CoverageScope,
  pods: ReadonlyMap<string, PodSummary> | null,
  tally: ReportTally,
): Promise<AuditCoverage> {
  if (pods === null) {
    return {
      checked: false,
      reason: 'no permission to list pods',
      nodesWithoutReports: [],
      podsWithoutReport: [],
      reportsWithoutPod: [],
      hostNetworkPodsWithoutReport: [],
      hostNetworkDisagreements: [],
    };
  }
  const onNode = (node: string): boolean =>
    node !== '' && (scope.node === null || node === scope.node);
  const bound = [...pods.values()].filter((p) => onNode(p.node));
  const daemonSets = await reader.agentDaemonSets();
  // Nodes: the DaemonSet scope is held against them, and they say what their runtime gives.
  const nodes = await reader.nodes();
  const nodeNames = [...new Set(bound.map((p) => p.node))].sort();
  const { inScope, outOfScope } = splitByScope(nodeNames, nodes, daemonSets);
  // RuntimeClasses only when a pod that asks for a feature names one.
  const runtimeClasses = bound.some((p) => p.asks?.runtimeClass !== undefined)
    ? await reader.runtimeClasses()
    : null;
  const unmet = unmetRequests(bound, nodes, runtimeClasses, onNode);
  const nodeRuntimes: NodeFeatureRow[] = nodeNames.map((node) => {
    const runtime = nodes?.get(node)?.runtime;
    return runtime ? { node, runtime } : { node };
  });
  const out = new Set(outOfScope);
  const missing = bound
    .filter((p) => !out.has(p.node) && p.phase !== 'Succeeded' && p.phase !== 'Failed')
    .filter((p) => !tally.reported.has(`${p.namespace}/${p.name}`))
    .map((p) => ({
      namespace: p.namespace,
      name: p.name,
      node: p.node,
      hostNetwork: p.hostNetwork,
    }))
    .sort(byName);
  const ref = ({ namespace, name, node }: PodRef): PodRef => ({ namespace, name, node });
  return {
    checked: true,
    scope: describeScope(daemonSets),
    nodesOutOfScope: outOfScope,
    nodesWithoutReports: inScope.filter((n) => !tally.coveredNodes.has(n)),
    podsWithoutReport: missing.map(ref),
    reportsWithoutPod: tally.withoutPod
      .filter((r) => scope.node === null || r.node === scope.node)
      .map(ref)
      .sort(byName),
    hostNetworkPodsWithoutReport: missing.filter((p) => p.hostNetwork).map(ref),
    hostNetworkDisagreements: tally.hostNetworkDisagreements
      .filter((d) => onNode(d.node) && !out.has(d.node))
      .slice()
      .sort(byName),
    ...(nodes !== null ? { nodeRuntimes, unmetRequests: unmet } : {}),
    userNamespaceDisagreements: tally.userNamespaceDisagreements
      .filter((d) => onNode(d.node) && !out.has(d.node))
      .slice()
      .sort(byName),
  };
}
