import {
  createAudit,
  labelSelector,
  reaches,
  type AuditCoverage,
  type AuditPod,
} from '../audit/audit.js';
import type { AuditConfig } from '../config/audit.js';
import { EXIT_FAILURE, EXIT_FAIL_ON, EXIT_OK, EXIT_USAGE } from '../config/exit.js';
import { connectClusterReader, type ClusterReader, type PodSummary } from '../k8s/cluster.js';
import { ApiError } from '../k8s/errors.js';
import type { CliIO } from './scan.js';
import { describeScope, splitByScope } from '../audit/scope.js';
import { formatAudit } from './audit-output.js';

export interface AuditIO extends CliIO {
  /** Whether stderr is a terminal (progress is shown only then). */
  readonly stderrIsTTY: boolean;
  /** Colors on stdout: a terminal, and NO_COLOR unset. */
  readonly color: boolean;
}

async function hostNetworkReports(
  reader: ClusterReader,
  config: AuditConfig,
): Promise<Set<string>> {
  const seen = new Set<string>();
  await reader.eachReportPage(
    {
      namespace: config.namespace,
      labelSelector: labelSelector({ hostNetwork: true, node: config.node, minSeverity: null }),
      pageSize: config.pageSize,
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
  config: AuditConfig,
): Promise<{ nodes: Set<string>; hostNet: PodSummary[] } | null> {
  const nodes = new Set<string>();
  const hostNet: PodSummary[] = [];
  try {
    await reader.eachPodPage({ namespace: config.namespace, pageSize: config.pageSize }, (pods) => {
      for (const p of pods.filter(
        (x) => x.node !== '' && (config.node === null || x.node === config.node),
      )) {
        nodes.add(p.node);
        if (p.hostNetwork) hostNet.push(p);
      }
    });
  } catch (err) {
    if (err instanceof ApiError && (err.kind === 'forbidden' || err.kind === 'unauthorized'))
      return null;
    throw err;
  }
  return { nodes, hostNet };
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
 * does not observe the host network. `complete`: the rows hold every report in scope.
 */
async function coverage(
  reader: ClusterReader,
  config: AuditConfig,
  rows: readonly AuditPod[],
  complete: boolean,
): Promise<AuditCoverage> {
  const pods = await podsInScope(reader, config);
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
    : await hostNetworkReports(reader, config);
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

function explain(err: ApiError, server: string): string {
  switch (err.kind) {
    case 'crd-missing':
      return `the NamespaceReport CRD (namespacereports.nsreport.dev) is not installed on ${server}: kubectl apply -f manifests/crd.yaml`;
    case 'forbidden':
    case 'unauthorized':
      return `not allowed to list namespacereports on ${server} (${err.kind}): ${err.message}`;
    case 'unreachable':
    case 'timeout':
      return `cannot reach the API server at ${server}: ${err.message}`;
    default:
      return err.message;
  }
}

/**
 * The audit's filters and the label selector sent to the server. The severity label leaves
 * accepted findings out: with --include-accepted the floor is applied to each report instead.
 */
function plan(config: AuditConfig): { audit: ReturnType<typeof createAudit>; selector: string } {
  const clientSide = config.includeAccepted;
  return {
    audit: createAudit({
      findings: config.findings,
      includeAccepted: clientSide,
      minSeverity: clientSide ? config.minSeverity : null,
    }),
    selector: labelSelector({
      hostNetwork: config.hostNetwork,
      node: config.node,
      minSeverity: clientSide ? null : config.minSeverity,
    }),
  };
}

/** `nsreport audit` (and `kubectl nsreport audit`). */
export async function runAudit(config: AuditConfig, io: AuditIO): Promise<number> {
  let reader: ClusterReader;
  try {
    reader = await connectClusterReader({
      kubeconfig: config.kubeconfig,
      context: config.context,
      timeoutMs: config.requestTimeoutMs,
    });
  } catch (err) {
    io.stderr(`nsreport: kubeconfig: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT_USAGE;
  }
  const { audit, selector } = plan(config);
  let pages = 0;
  try {
    await reader.eachReportPage(
      { namespace: config.namespace, labelSelector: selector, pageSize: config.pageSize },
      (items) => {
        for (const r of items) audit.add(r);
        pages++;
        if (io.stderrIsTTY && pages > 1)
          io.stderr(`\rnsreport: ${audit.reports} reports read (${pages} pages)`);
      },
    );
    if (io.stderrIsTTY && pages > 1) io.stderr('\n');
    // With only node/hostNetwork narrowing, the list holds every hostNetwork report in scope.
    const complete =
      config.minSeverity === null && config.findings.length === 0 && !config.hostNetwork;
    const result = audit.result(await coverage(reader, config, audit.rows, complete));
    io.stdout(formatAudit(result, { output: config.output, color: io.color }));
    return config.failOn !== null && reaches(result, config.failOn) ? EXIT_FAIL_ON : EXIT_OK;
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    io.stderr(`nsreport: ${explain(err, reader.server)}\n`);
    return EXIT_FAILURE;
  }
}
