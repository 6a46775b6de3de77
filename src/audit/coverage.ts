import { labelSelector, type AuditCoverage, type AuditPod } from './audit.js';
import type { ClusterReader, PodSummary } from './reader.js';
import { describeScope, splitByScope } from './scope.js';

/** Where the audit looks: one namespace or all (null), one node or all (null). */
export interface CoverageScope {
  readonly namespace: string | null;
  readonly node: string | null;
  readonly pageSize: number;
}

async function hostNetworkReports(
  reader: ClusterReader,
  scope: CoverageScope,
): Promise<Set<string>> {
  const seen = new Set<string>();
  await reader.eachReportPage(
    {
      namespace: scope.namespace,
      labelSelector: labelSelector({ hostNetwork: true, node: scope.node, minSeverity: null }),
      pageSize: scope.pageSize,
    },
    (items) => {
      for (const r of items) seen.add(`${r.metadata.namespace}/${r.metadata.name}`);
    },
  );
  return seen;
}

/** Nodes running pods, and hostNetwork pods by their spec; null without permission. */
async function podsInScope(
  reader: ClusterReader,
  scope: CoverageScope,
): Promise<{ nodes: Set<string>; hostNet: PodSummary[] } | null> {
  const nodes = new Set<string>();
  const hostNet: PodSummary[] = [];
  const allowed = await reader.eachPodPage(
    { namespace: scope.namespace, pageSize: scope.pageSize },
    (pods) => {
      for (const p of pods) {
        if (p.node === '' || (scope.node !== null && p.node !== scope.node)) continue;
        nodes.add(p.node);
        if (p.hostNetwork) hostNet.push(p);
      }
    },
  );
  return allowed ? { nodes, hostNet } : null;
}

type PodRef = AuditCoverage['hostNetworkPodsWithoutReport'][number];
type Disagreement = AuditCoverage['hostNetworkDisagreements'][number];

async function checkHostNetworkPods(
  reader: ClusterReader,
  pods: readonly PodSummary[],
  reported: ReadonlySet<string>,
): Promise<{ missing: PodRef[]; disagreements: Disagreement[] }> {
  const missing: PodRef[] = [];
  const disagreements: Disagreement[] = [];
  for (const p of pods) {
    if (reported.has(`${p.namespace}/${p.name}`)) continue;
    const report = await reader.getReport(p.namespace, p.name);
    if (report === null) missing.push({ namespace: p.namespace, name: p.name, node: p.node });
    else
      disagreements.push({
        namespace: p.namespace,
        name: p.name,
        node: p.node,
        observed: report.report.hostNamespaces.network,
      });
  }
  const byName = (x: PodRef, y: PodRef): number =>
    `${x.namespace}/${x.name}` < `${y.namespace}/${y.name}` ? -1 : 1;
  return { missing: missing.sort(byName), disagreements: disagreements.sort(byName) };
}

/**
 * What the reports cannot say about themselves: nodes that run pods but report nothing (no
 * agent there), and hostNetwork pods (by their spec) without a report or with a report that
 * does not observe the host network. `rows` are the reports read; `complete`: they hold every
 * report in scope (else the hostNetwork ones are listed again).
 */
export async function coverage(
  reader: ClusterReader,
  scope: CoverageScope,
  rows: readonly AuditPod[],
  complete: boolean,
): Promise<AuditCoverage> {
  const pods = await podsInScope(reader, scope);
  if (pods === null) {
    return {
      checked: false,
      reason: 'no permission to list pods',
      nodesWithoutReports: [],
      hostNetworkPodsWithoutReport: [],
      hostNetworkDisagreements: [],
    };
  }
  // Nodes are read only when there is a DaemonSet scope to hold them against.
  const daemonSets = await reader.agentDaemonSets();
  const nodes = daemonSets && daemonSets.length > 0 ? await reader.nodes() : null;
  const { inScope, outOfScope } = splitByScope([...pods.nodes].sort(), nodes, daemonSets);
  const out = new Set(outOfScope);
  const seenNodes = new Set(rows.map((r) => r.node));
  const nodesWithoutReports: string[] = [];
  for (const node of inScope) {
    if (seenNodes.has(node)) continue;
    if (complete || !(await reader.nodeHasReports(node))) nodesWithoutReports.push(node);
  }
  const reported = complete
    ? new Set(rows.filter((r) => r.hostNetwork).map((r) => `${r.namespace}/${r.name}`))
    : await hostNetworkReports(reader, scope);
  const { missing, disagreements } = await checkHostNetworkPods(
    reader,
    pods.hostNet.filter((p) => !out.has(p.node)),
    reported,
  );
  return {
    checked: true,
    scope: describeScope(daemonSets),
    nodesOutOfScope: outOfScope,
    nodesWithoutReports,
    hostNetworkPodsWithoutReport: missing,
    hostNetworkDisagreements: disagreements,
  };
}
