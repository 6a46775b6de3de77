import type { NodeRuntimeFeatures } from './features.js';

/**
 * Which nodes the agent's DaemonSet targets, the way the DaemonSet controller decides it
 * (pkg/controller/daemon/util, v1.35): the pod template's nodeSelector, its required node
 * affinity, and taints with effect NoSchedule or NoExecute tolerated by the template's
 * tolerations plus those the controller adds to every DaemonSet pod. A node outside every
 * agent DaemonSet's scope (Windows, another pool, an untolerated taint) is not "missing a
 * report". Pure: the audit reads the objects, this decides.
 */

export interface Taint {
  readonly key: string;
  readonly value?: string;
  readonly effect: string;
}

export interface Toleration {
  readonly key?: string;
  readonly operator?: string;
  readonly value?: string;
  readonly effect?: string;
}

export interface NodeSelectorRequirement {
  readonly key: string;
  readonly operator: string;
  readonly values?: readonly string[];
}

export interface NodeSelectorTerm {
  readonly matchExpressions?: readonly NodeSelectorRequirement[];
  readonly matchFields?: readonly NodeSelectorRequirement[];
}

export interface NodeInfo {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly taints: readonly Taint[];
  /** What its runtime handlers can give (Node status); absent when it does not say. */
  readonly runtime?: NodeRuntimeFeatures;
}

/** The scheduling constraints of one agent DaemonSet's pod template. */
export interface AgentDaemonSet {
  readonly namespace: string;
  readonly name: string;
  readonly nodeSelector: Readonly<Record<string, string>>;
  /** Required node affinity: any term matches (empty: every node). */
  readonly nodeSelectorTerms: readonly NodeSelectorTerm[];
  readonly tolerations: readonly Toleration[];
  /** What it runs: the agent container's image, the chart's version label, pods ready/wanted. */
  readonly image?: string;
  readonly version?: string;
  readonly ready?: number;
  readonly desired?: number;
}

/** Tolerations the DaemonSet controller adds to its pods (util.AddOrUpdateDaemonPodTolerations). */
const DAEMON_TOLERATIONS: readonly Toleration[] = [
  { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/memory-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/pid-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' },
  // hostNetwork DaemonSets also get network-unavailable; the agent is not hostNetwork.
];

function tolerates(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.operator === 'Exists') return !t.key || t.key === taint.key;
  return t.key === taint.key && (t.value ?? '') === (taint.value ?? '');
}

/** Sign of label value − bound as integers; NaN (matches neither Gt nor Lt) if either is not one. */
function compare(value: string | undefined, bound: string | undefined): number {
  const n = Number(value);
  const b = Number(bound);
  return value !== undefined && Number.isInteger(n) && Number.isInteger(b) ? n - b : NaN;
}

function requirementMatches(r: NodeSelectorRequirement, value: string | undefined): boolean {
  const values = r.values ?? [];
  switch (r.operator) {
    case 'In':
      return value !== undefined && values.includes(value);
    case 'NotIn':
      return value === undefined || !values.includes(value);
    case 'Exists':
      return value !== undefined;
    case 'DoesNotExist':
      return value === undefined;
    case 'Gt':
      return compare(value, values[0]) > 0;
    case 'Lt':
      return compare(value, values[0]) < 0;
    default:
      return false;
  }
}

function termMatches(term: NodeSelectorTerm, node: NodeInfo): boolean {
  const exprs = term.matchExpressions ?? [];
  const fields = term.matchFields ?? [];
  // An empty term matches no node (k8s.io/component-helpers nodeaffinity).
  if (exprs.length === 0 && fields.length === 0) return false;
  return (
    exprs.every((r) => requirementMatches(r, node.labels[r.key])) &&
    fields.every((r) => r.key === 'metadata.name' && requirementMatches(r, node.name))
  );
}

/** Whether the DaemonSet would run its pod on the node. */
export function targets(ds: AgentDaemonSet, node: NodeInfo): boolean {
  if (!Object.entries(ds.nodeSelector).every(([k, v]) => node.labels[k] === v)) return false;
  if (ds.nodeSelectorTerms.length > 0 && !ds.nodeSelectorTerms.some((t) => termMatches(t, node)))
    return false;
  const tolerations = [...ds.tolerations, ...DAEMON_TOLERATIONS];
  return node.taints
    .filter((taint) => taint.effect === 'NoSchedule' || taint.effect === 'NoExecute')
    .every((taint) => tolerations.some((t) => tolerates(t, taint)));
}

/** One line saying which DaemonSets' scope the coverage assumed. */
export function describeScope(daemonSets: readonly AgentDaemonSet[] | null): string {
  if (daemonSets === null) return 'every node (the agent DaemonSets could not be read)';
  if (daemonSets.length === 0) return 'every node (no agent DaemonSet found)';
  return daemonSets
    .map((ds) => {
      const sel = Object.entries(ds.nodeSelector).map(([k, v]) => `${k}=${v}`);
      const parts = [
        sel.length > 0 ? `nodeSelector ${sel.join(',')}` : '',
        ds.nodeSelectorTerms.length > 0 ? 'required node affinity' : '',
        ds.tolerations.some((t) => t.operator === 'Exists' && !t.key && !t.effect)
          ? 'tolerates every taint'
          : `${ds.tolerations.length} tolerations`,
      ].filter(Boolean);
      return `DaemonSet ${ds.namespace}/${ds.name} (${parts.join('; ')})`;
    })
    .join(', ');
}

/**
 * Splits node names into those some agent DaemonSet targets and those none does. Unknown
 * DaemonSets (null) or none found: every node is in scope (a missing agent is still news).
 * A node whose object is not readable stays in scope.
 */
export function splitByScope(
  names: readonly string[],
  nodes: ReadonlyMap<string, NodeInfo> | null,
  daemonSets: readonly AgentDaemonSet[] | null,
): { inScope: string[]; outOfScope: string[] } {
  if (daemonSets === null || daemonSets.length === 0 || nodes === null)
    return { inScope: [...names], outOfScope: [] };
  const inScope: string[] = [];
  const outOfScope: string[] = [];
  for (const name of names) {
    const node = nodes.get(name);
    if (!node || daemonSets.some((ds) => targets(ds, node))) inScope.push(name);
    else outOfScope.push(name);
  }
  return { inScope, outOfScope };
}
