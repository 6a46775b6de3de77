import { unaccepted } from '../inspect/accept.js';
import { highestSeverity, isLoopback, mountSensitivity } from '../inspect/findings.js';
import { SEVERITY_ORDER, type Severity } from '../inspect/types.js';
import { labelValue } from '../report/report.js';
import {
  API_VERSION,
  LABEL_HOST_IPC,
  LABEL_HOST_NETWORK,
  LABEL_HOST_PID,
  LABEL_MANAGED_BY,
  LABEL_NODE,
  LABEL_SEVERITY,
  MANAGER,
  type NamespaceReport,
} from '../report/types.js';

/**
 * The cluster-wide audit, pure: reports go in page by page and are reduced at once to small
 * rows, so memory follows the number of pods, not the size of the reports.
 */

export interface AuditFilters {
  /** Client-side: keep pods with at least one of these finding ids. */
  readonly findings: readonly string[];
  /** Accepted findings count as findings again (severity, --fail-on, filters). */
  readonly includeAccepted?: boolean;
  /** Client-side severity floor (used when accepted findings count: the label does not say). */
  readonly minSeverity?: Severity | null;
}

export interface AuditPod {
  readonly namespace: string;
  readonly name: string;
  readonly node: string;
  readonly hostNetwork: boolean;
  readonly hostPID: boolean;
  readonly hostIPC: boolean;
  readonly containers: number;
  /**
   * `proto/port (container)` of listeners on the host (hostNetwork pods), `(container,
   * loopback)` when bound to loopback only; those beyond loopback first.
   */
  readonly hostListeners: readonly string[];
  /** Host paths flagged sensitive (NSR007), the most severe first. */
  readonly sensitiveMounts: readonly string[];
  /** `destination=observed` of every mount that is not private. */
  readonly propagation: readonly string[];
  readonly findings: readonly {
    id: string;
    severity: string;
    container?: string;
    message: string;
    accepted?: { reason: string; source: string };
  }[];
  /** Accepted findings left out of `findings` (0 with --include-accepted). */
  readonly accepted: number;
  readonly severity: Severity;
}

export interface AuditCoverage {
  /** false when pods could not be listed (permission): the rest is then unknown. */
  readonly checked: boolean;
  readonly reason?: string;
  /** Which nodes the agent is expected on: the agent DaemonSets' scope, or every node. */
  readonly scope?: string;
  /** Nodes that run pods but no agent DaemonSet targets (Windows, a nodeSelector, a taint). */
  readonly nodesOutOfScope?: readonly string[];
  /** Nodes in scope that run pods but have no report at all: the agent is missing there. */
  readonly nodesWithoutReports: readonly string[];
  /** Pods with spec.hostNetwork: true and no report. */
  readonly hostNetworkPodsWithoutReport: readonly {
    namespace: string;
    name: string;
    node: string;
  }[];
  /** Pods with spec.hostNetwork: true whose report does not observe the host network. */
  readonly hostNetworkDisagreements: readonly {
    namespace: string;
    name: string;
    node: string;
    observed: string;
  }[];
}

export interface AuditResult {
  readonly apiVersion: typeof API_VERSION;
  readonly kind: 'NamespaceAudit';
  readonly summary: {
    readonly reports: number;
    readonly pods: number;
    readonly nodes: number;
    readonly hostNetworkPods: number;
    readonly hostNetworkNodes: number;
    readonly findingsBySeverity: Readonly<Record<Exclude<Severity, 'none'>, number>>;
    /** Accepted findings not counted above (shown with --include-accepted). */
    readonly accepted: number;
    readonly highestSeverity: Severity;
  };
  readonly nodes: readonly { readonly name: string; readonly pods: readonly AuditPod[] }[];
  readonly coverage: AuditCoverage;
}

type ReportListener = NamespaceReport['report']['network']['listeners'][number];

function listenerText(l: ReportListener): string {
  const notes = [l.container, isLoopback(l.address) ? 'loopback' : ''].filter(Boolean);
  return `${l.protocol}/${l.port}${notes.length > 0 ? ` (${notes.join(', ')})` : ''}`;
}

function hostListeners(b: NamespaceReport['report']): string[] {
  const ls = b.network.listeners;
  const exposed = ls.filter((l) => !isLoopback(l.address));
  return [...exposed, ...ls.filter((l) => isLoopback(l.address))].map(listenerText);
}

/** Sensitive host paths of a report as NSR007 sees them (not the pod's own volumes), worst first. */
function sensitiveMounts(b: NamespaceReport['report']): string[] {
  const rank = new Map<string, number>();
  for (const c of b.containers)
    for (const m of c.mounts) {
      const s = mountSensitivity(m, b.pod.uid);
      if (s !== null && m.source !== undefined)
        rank.set(m.source, Math.max(rank.get(m.source) ?? 0, SEVERITY_ORDER.indexOf(s)));
    }
  return [...rank].sort(([a, x], [b2, y]) => y - x || (a < b2 ? -1 : 1)).map(([p]) => p);
}

/** A report reduced to what the audit shows; null when a client-side filter drops it. */
export function auditRow(r: NamespaceReport, filters: AuditFilters): AuditPod | null {
  const b = r.report;
  const kept = filters.includeAccepted ? b.findings : unaccepted(b.findings);
  if (filters.findings.length > 0 && !kept.some((f) => filters.findings.includes(f.id)))
    return null;
  const severity = highestSeverity(kept);
  const floor = filters.minSeverity ?? null;
  if (floor !== null && SEVERITY_ORDER.indexOf(severity) < SEVERITY_ORDER.indexOf(floor))
    return null;
  const labels = r.metadata.labels;
  const hostNetwork = labels[LABEL_HOST_NETWORK] === 'true';
  return {
    namespace: r.metadata.namespace,
    name: r.metadata.name,
    node: b.node,
    hostNetwork,
    hostPID: labels[LABEL_HOST_PID] === 'true',
    hostIPC: labels[LABEL_HOST_IPC] === 'true',
    containers: b.summary.containers,
    hostListeners: hostNetwork ? hostListeners(b) : [],
    sensitiveMounts: sensitiveMounts(b),
    propagation: b.containers.flatMap((c) =>
      c.mounts
        .filter((m) => m.observedPropagation !== 'private')
        .map((m) => `${m.destination}=${m.observedPropagation}`),
    ),
    findings: kept.map((f) => ({ ...f })),
    accepted: b.findings.length - kept.length,
    severity,
  };
}

export interface PodSpecInfo {
  readonly namespace: string;
  readonly name: string;
  readonly node: string;
  readonly hostNetwork: boolean;
}

/** Accumulates rows page by page; `result` groups them by node. */
export function createAudit(filters: AuditFilters): {
  add(r: NamespaceReport): void;
  readonly rows: readonly AuditPod[];
  readonly reports: number;
  result(coverage: AuditCoverage): AuditResult;
} {
  const rows: AuditPod[] = [];
  let reports = 0;
  return {
    add(r) {
      reports++;
      const row = auditRow(r, filters);
      if (row) rows.push(row);
    },
    get rows() {
      return rows;
    },
    get reports() {
      return reports;
    },
    result(coverage) {
      const byNode = new Map<string, AuditPod[]>();
      for (const row of rows) {
        const list = byNode.get(row.node);
        if (list) list.push(row);
        else byNode.set(row.node, [row]);
      }
      const nodes = [...byNode]
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([name, pods]) => ({
          name,
          pods: pods.sort((a, b) =>
            `${a.namespace}/${a.name}` < `${b.namespace}/${b.name}` ? -1 : 1,
          ),
        }));
      const findingsBySeverity = { low: 0, medium: 0, high: 0, critical: 0 };
      let highest = 0;
      for (const row of rows) {
        for (const f of row.findings)
          findingsBySeverity[f.severity as keyof typeof findingsBySeverity]++;
        highest = Math.max(highest, SEVERITY_ORDER.indexOf(row.severity));
      }
      const hostNet = rows.filter((r) => r.hostNetwork);
      return {
        apiVersion: API_VERSION,
        kind: 'NamespaceAudit',
        summary: {
          reports,
          pods: rows.length,
          nodes: nodes.length,
          hostNetworkPods: hostNet.length,
          hostNetworkNodes: new Set(hostNet.map((r) => r.node)).size,
          findingsBySeverity,
          accepted: rows.reduce((n, r) => n + r.accepted, 0),
          highestSeverity: SEVERITY_ORDER[highest] ?? 'none',
        },
        nodes,
        coverage,
      };
    },
  };
}

/** Whether any finding reaches `threshold` (for --fail-on). */
export function reaches(result: AuditResult, threshold: Severity): boolean {
  return (
    SEVERITY_ORDER.indexOf(result.summary.highestSeverity) >= SEVERITY_ORDER.indexOf(threshold) &&
    result.summary.highestSeverity !== 'none'
  );
}

/** Label selector pushing the filters that have labels to the server. */
export function labelSelector(o: {
  hostNetwork: boolean;
  node: string | null;
  minSeverity: Severity | null;
}): string {
  const parts = [`${LABEL_MANAGED_BY}=${MANAGER}`];
  if (o.hostNetwork) parts.push(`${LABEL_HOST_NETWORK}=true`);
  if (o.node) parts.push(`${LABEL_NODE}=${labelValue(o.node)}`);
  if (o.minSeverity && o.minSeverity !== 'none') {
    parts.push(
      `${LABEL_SEVERITY} in (${SEVERITY_ORDER.slice(SEVERITY_ORDER.indexOf(o.minSeverity)).join(',')})`,
    );
  }
  return parts.join(',');
}
