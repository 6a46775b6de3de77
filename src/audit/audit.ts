import type { NodeFeatureRow, UnmetRequest } from './features.js';
import { unaccepted } from '../inspect/accept.js';
import { highestSeverity, isLoopback, mountSensitivity } from '../inspect/findings.js';
import { SEVERITY_ORDER, type Severity, type Tristate } from '../inspect/types.js';
import { reportLabels } from '../report/report.js';
import {
  API_VERSION,
  LABEL_HOST_IPC,
  LABEL_HOST_NETWORK,
  LABEL_HOST_PID,
  type NamespaceReport,
} from '../report/types.js';
import {
  checkReport,
  checkUnreadable,
  readReport,
  type IntegrityIssue,
  type ReadReport,
} from './integrity.js';
import type { PodSummary } from './reader.js';

/**
 * The cluster-wide audit, pure: reports go in page by page and are reduced at once to small
 * rows, so memory follows the number of pods, not the size of the reports. Each report is held
 * against its Pod (integrity.ts) and filtered on what holds, never on its labels: a report that
 * disagrees with its Pod is shown whatever the filters, since its content is what it lies about.
 */

export interface AuditFilters {
  /** Keep pods with at least one of these finding ids. */
  readonly findings: readonly string[];
  /** Accepted findings count as findings again (severity, --fail-on, filters). */
  readonly includeAccepted?: boolean;
  /** Severity floor. */
  readonly minSeverity?: Severity | null;
  /** Only pods on the host network (by the report or by the Pod spec). */
  readonly hostNetwork?: boolean;
  /** Only pods of this node (the Pod's, or the one the report claims). */
  readonly node?: string | null;
}

export interface AuditPod {
  readonly namespace: string;
  readonly name: string;
  /** The Pod's node when the API has the Pod, else the one the report claims. */
  readonly node: string;
  /** Shares the host's network (PID, IPC) namespace by the report or by the Pod spec. */
  readonly hostNetwork: boolean;
  readonly hostPID: boolean;
  readonly hostIPC: boolean;
  /** What the report observes of the network namespace (true, false, unknown). */
  readonly observedHostNetwork: Tristate;
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
  /** Where the report disagrees with its Pod or with itself; absent when pods were not read. */
  readonly integrity?: readonly IntegrityIssue[];
  /** The highest of the findings and the integrity issues. */
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
  /**
   * Nodes in scope that run pods but have no report that holds against a Pod bound to them: the
   * agent is missing there (a report that only claims the node does not count).
   */
  readonly nodesWithoutReports: readonly string[];
  /** Pods bound to nodes in scope, not finished, without a report. */
  readonly podsWithoutReport: readonly { namespace: string; name: string; node: string }[];
  /** Reports for which the API has no Pod of that name. */
  readonly reportsWithoutPod: readonly { namespace: string; name: string; node: string }[];
  /** Pods with spec.hostNetwork: true and no report (the hostNetwork ones of podsWithoutReport). */
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
  /** Each node with pods: what its runtime handlers give (absent when the Node does not say). */
  readonly nodeRuntimes?: readonly NodeFeatureRow[];
  /** Pods that ask for an isolation feature their node's runtime handler does not give. */
  readonly unmetRequests?: readonly UnmetRequest[];
  /** Pods asking for `hostUsers: false` whose report shows a container in the host's. */
  readonly userNamespaceDisagreements?: readonly PodRef[];
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
    /** Reports that disagree with their Pod or themselves (integrity issues). */
    readonly untrusted: number;
    /** Accepted findings not counted above (shown with --include-accepted). */
    readonly accepted: number;
    readonly highestSeverity: Severity;
  };
  readonly nodes: readonly { readonly name: string; readonly pods: readonly AuditPod[] }[];
  readonly coverage: AuditCoverage;
}

type ReportListener = NamespaceReport['report']['network']['listeners'][number];

/**
 * What the audit holds of 150,000 pods is mostly their rows; most of a row's lists are empty.
 * One empty list stands for all of them (a list of its own each is ~30 MiB at that size).
 */
const NONE: readonly never[] = Object.freeze([]);
const listOf = <T>(xs: readonly T[]): readonly T[] => (xs.length === 0 ? NONE : xs);

/** One copy of each string that repeats across rows (node names). */
export function interner(): (s: string) => string {
  const seen = new Map<string, string>();
  return (s) => {
    const have = seen.get(s);
    if (have !== undefined) return have;
    seen.set(s, s);
    return s;
  };
}

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

/** Whether a row passes the filters (one with integrity issues passes all but the node's). */
function kept(row: AuditPod, body: NamespaceReport['report'], f: AuditFilters): boolean {
  if (f.node && row.node !== f.node && body.node !== f.node) return false;
  if ((row.integrity ?? []).length > 0) return true;
  if (f.hostNetwork && !row.hostNetwork) return false;
  if (f.findings.length > 0 && !row.findings.some((x) => f.findings.includes(x.id))) return false;
  const floor = f.minSeverity ?? null;
  return floor === null || SEVERITY_ORDER.indexOf(row.severity) >= SEVERITY_ORDER.indexOf(floor);
}

/** The host namespaces a pod shares, by its report's body or by its Pod's spec. */
function hostSharing(
  b: NamespaceReport['report'],
  pod: PodSummary | undefined,
): Pick<AuditPod, 'hostNetwork' | 'hostPID' | 'hostIPC'> {
  const says = reportLabels(b);
  return {
    hostNetwork: says[LABEL_HOST_NETWORK] === 'true' || pod?.hostNetwork === true,
    hostPID: says[LABEL_HOST_PID] === 'true' || pod?.hostPID === true,
    hostIPC: says[LABEL_HOST_IPC] === 'true' || pod?.hostIPC === true,
  };
}

/**
 * A report reduced to what the audit shows, with the Pod of its name (when the API has one) and
 * what checkReport found (absent when pods could not be read); null when a filter drops it.
 */
export function auditRow(
  r: NamespaceReport,
  filters: AuditFilters,
  against: { pod?: PodSummary | undefined; integrity?: readonly IntegrityIssue[] } = {},
): AuditPod | null {
  const b = r.report;
  const findings = filters.includeAccepted ? b.findings : unaccepted(b.findings);
  const integrity = against.integrity;
  const pod = against.pod;
  const host = hostSharing(b, pod);
  const worst = Math.max(
    SEVERITY_ORDER.indexOf(highestSeverity(findings)),
    ...(integrity ?? []).map((i) => SEVERITY_ORDER.indexOf(i.severity)),
  );
  const row: AuditPod = {
    namespace: r.metadata.namespace,
    name: r.metadata.name,
    node: pod?.node || b.node,
    ...host,
    observedHostNetwork: b.hostNamespaces.network,
    containers: b.summary.containers,
    hostListeners: host.hostNetwork ? listOf(hostListeners(b)) : NONE,
    sensitiveMounts: listOf(sensitiveMounts(b)),
    propagation: listOf(
      b.containers.flatMap((c) =>
        c.mounts
          .filter((m) => m.observedPropagation !== 'private')
          .map((m) => `${m.destination}=${m.observedPropagation}`),
      ),
    ),
    findings: listOf(findings.map((f) => ({ ...f }))),
    accepted: b.findings.length - findings.length,
    ...(integrity !== undefined ? { integrity: listOf(integrity) } : {}),
    severity: SEVERITY_ORDER[worst] ?? 'none',
  };
  return kept(row, b, filters) ? row : null;
}

/**
 * The row of a report the audit cannot read (no body, a field of the wrong type): only its name,
 * its Pod's facts and what is wrong; shown whatever the filters but the node's.
 */
function unreadableRow(
  read: Extract<ReadReport, { ok: false }>,
  against: { pod: PodSummary | undefined; integrity: readonly IntegrityIssue[] },
  filters: AuditFilters,
): AuditPod | null {
  const { pod, integrity } = against;
  const node = pod?.node || read.node;
  if (filters.node && node !== filters.node && read.node !== filters.node) return null;
  return {
    namespace: read.namespace,
    name: read.name,
    node,
    hostNetwork: pod?.hostNetwork === true,
    hostPID: pod?.hostPID === true,
    hostIPC: pod?.hostIPC === true,
    observedHostNetwork: 'unknown',
    containers: 0,
    hostListeners: NONE,
    sensitiveMounts: NONE,
    propagation: NONE,
    findings: NONE,
    accepted: 0,
    integrity,
    severity: integrity.map((i) => i.severity).reduce(worse, 'none'),
  };
}

const worse = (a: Severity, b: Severity): Severity =>
  SEVERITY_ORDER.indexOf(b) > SEVERITY_ORDER.indexOf(a) ? b : a;

type PodRef = AuditCoverage['podsWithoutReport'][number];

/**
 * What every report read says about coverage, whatever the filters: which pods have a report,
 * which nodes a report that holds against its Pod covers, reports without a Pod, hostNetwork
 * pods whose report does not observe the host network.
 */
export interface ReportTally {
  readonly reported: ReadonlySet<string>;
  readonly coveredNodes: ReadonlySet<string>;
  readonly withoutPod: readonly PodRef[];
  readonly hostNetworkDisagreements: readonly AuditCoverage['hostNetworkDisagreements'][number][];
  /** Pods asking for `hostUsers: false` whose report shows a container in the host's. */
  readonly userNamespaceDisagreements: readonly PodRef[];
}

/**
 * Accumulates rows page by page, each report held against its Pod in `pods` (null: pods could
 * not be listed, nothing is checked); `result` groups them by node.
 */
// eslint-disable-next-line max-lines-per-function -- a factory: its closure is the module
export function createAudit(
  filters: AuditFilters,
  pods: ReadonlyMap<string, PodSummary> | null = null,
): {
  /** One report as the API lists it (of any shape: one the audit cannot read is untrusted). */
  add(r: unknown): void;
  readonly rows: readonly AuditPod[];
  readonly reports: number;
  readonly tally: ReportTally;
  result(coverage: AuditCoverage): AuditResult;
} {
  const rows: AuditPod[] = [];
  const intern = interner();
  /** A row kept: its node's name is one string for all the node's rows. */
  const keep = (row: AuditPod | null): void => {
    if (row) rows.push({ ...row, node: intern(row.node) });
  };
  let reports = 0;
  const reported = new Set<string>();
  const coveredNodes = new Set<string>();
  const withoutPod: PodRef[] = [];
  const disagreements: ReportTally['hostNetworkDisagreements'][number][] = [];
  const usernsDisagreements: PodRef[] = [];
  /** Coverage counts every report read, before the filters. */
  function tally(
    r: NamespaceReport,
    pod: PodSummary | undefined,
    issues: readonly IntegrityIssue[],
  ): void {
    const { namespace, name } = r.metadata;
    const k = `${namespace}/${name}`;
    reported.add(k);
    if (pods === null) {
      coveredNodes.add(r.report.node);
      return;
    }
    if (pod === undefined) {
      withoutPod.push({ namespace, name, node: r.report.node });
      return;
    }
    if (!issues.some((i) => i.check === 'uid' || i.check === 'node')) coveredNodes.add(pod.node);
    // A runtime may drop what it ignores (containerd 1.6 has no userns_options): the Pod says.
    if (
      pod.asks?.userNamespace &&
      r.report.containers.some((c) => c.namespaces.user?.sharedWithHost === 'true')
    )
      usernsDisagreements.push({ namespace, name, node: pod.node });
    if (pod.hostNetwork && r.report.hostNamespaces.network !== 'true')
      disagreements.push({
        namespace,
        name,
        node: pod.node,
        observed: r.report.hostNamespaces.network,
      });
  }
  /** A report it cannot read: it covers no node; its Pod, if any, has a report nonetheless. */
  function addUnreadable(read: Extract<ReadReport, { ok: false }>): void {
    const k = `${read.namespace}/${read.name}`;
    const pod = pods?.get(k);
    reported.add(k);
    if (pods !== null && pod === undefined)
      withoutPod.push({ namespace: read.namespace, name: read.name, node: read.node });
    const integrity = checkUnreadable(read, pod, pods !== null);
    keep(unreadableRow(read, { pod, integrity }, filters));
  }
  return {
    add(o) {
      reports++;
      const read = readReport(o);
      if (!read.ok) {
        addUnreadable(read);
        return;
      }
      const r = read.report;
      const pod = pods?.get(`${r.metadata.namespace}/${r.metadata.name}`);
      const integrity = pods !== null ? checkReport(r, pod) : undefined;
      tally(r, pod, integrity ?? []);
      keep(auditRow(r, filters, { pod, ...(integrity ? { integrity } : {}) }));
    },
    get rows() {
      return rows;
    },
    get reports() {
      return reports;
    },
    get tally() {
      return {
        reported,
        coveredNodes,
        withoutPod,
        hostNetworkDisagreements: disagreements,
        userNamespaceDisagreements: usernsDisagreements,
      };
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
      let untrusted = 0;
      for (const row of rows) {
        if ((row.integrity ?? []).length > 0) untrusted++;
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
          untrusted,
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
