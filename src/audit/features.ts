import type { PodSummary } from './reader.js';
import type { NodeInfo } from './scope.js';

/**
 * What each node's runtime can give of the newer isolation features, and the pods that ask for
 * what their node does not give. The kubelet publishes it on the Node (k8s v1.35
 * core/v1 NodeStatus): `status.runtimeHandlers[]` — `{name, features: {userNamespaces,
 * recursiveReadOnlyMounts}}`, the runtime's CRI RuntimeHandlerFeatures, the default handler
 * named '' — and `status.features.supplementalGroupsPolicy`. A kubelet refuses a pod whose
 * handler lacks user namespaces ("can't set `spec.hostUsers: false`, RuntimeClass handler …
 * does not support user namespaces": it stays ContainerCreating, without a report) and fails a
 * container whose `recursiveReadOnly: Enabled` the handler cannot give; the audit says which
 * before anyone reads kubelet events.
 */

export interface RuntimeHandler {
  /** The CRI handler name ('' for the runtime's default). */
  readonly name: string;
  readonly userNamespaces: boolean;
  readonly recursiveReadOnlyMounts: boolean;
}

export interface NodeRuntimeFeatures {
  readonly handlers: readonly RuntimeHandler[];
  /** null when the kubelet does not say (before v1.31). */
  readonly supplementalGroupsPolicy: boolean | null;
}

/** What a pod asks for of the newer features (its spec). */
export interface IsolationAsks {
  /** `spec.hostUsers: false`. */
  readonly userNamespace?: true;
  /** A volume mount with `recursiveReadOnly: Enabled` (IfPossible falls back by design). */
  readonly recursiveReadOnly?: true;
  /** `securityContext.supplementalGroupsPolicy: Strict`. */
  readonly strictGroups?: true;
  /** `spec.runtimeClassName`, when set. */
  readonly runtimeClass?: string;
  /** Failed, with this reason (`SupplementalGroupsPolicyNotSupported`: the kubelet's refusal). */
  readonly rejected?: string;
}

export interface UnmetRequest {
  readonly namespace: string;
  readonly name: string;
  readonly node: string;
  /** The handler that runs it: '' for the default, the RuntimeClass's otherwise. */
  readonly handler: string;
  /** What it asks for that the handler or node does not give. */
  readonly missing: readonly (
    'hostUsers: false' | 'recursiveReadOnly: Enabled' | 'supplementalGroupsPolicy: Strict'
  )[];
}

export interface NodeFeatureRow {
  readonly node: string;
  /** absent when the Node does not say (a kubelet before v1.30). */
  readonly runtime?: NodeRuntimeFeatures;
}

/** A pod still meant to run, or one the kubelet refused for what it asks. */
function judged(p: PodSummary): boolean {
  if (p.phase !== 'Succeeded' && p.phase !== 'Failed') return true;
  return p.asks?.rejected === 'SupplementalGroupsPolicyNotSupported';
}

/** The handler that runs a pod: '' or its RuntimeClass's; null when that is not known. */
function handlerOf(asks: IsolationAsks, runtimeClasses: ReadonlyMap<string, string> | null) {
  if (asks.runtimeClass === undefined) return '';
  return runtimeClasses?.get(asks.runtimeClass) ?? null;
}

/** What a pod asks that its handler (and node) does not give. */
function missingFor(
  asks: IsolationAsks,
  handler: RuntimeHandler | undefined,
  runtime: NodeRuntimeFeatures,
): UnmetRequest['missing'][number][] {
  const missing: UnmetRequest['missing'][number][] = [];
  if (asks.userNamespace && !handler?.userNamespaces) missing.push('hostUsers: false');
  if (asks.recursiveReadOnly && !handler?.recursiveReadOnlyMounts)
    missing.push('recursiveReadOnly: Enabled');
  if (asks.strictGroups && runtime.supplementalGroupsPolicy === false)
    missing.push('supplementalGroupsPolicy: Strict');
  return missing;
}

/**
 * The pods bound to nodes that cannot give what they ask, and each such node's features.
 * `runtimeClasses`: RuntimeClass name → handler (null when not readable: a pod with a
 * RuntimeClass is then not judged). Pods on nodes that do not publish features are not judged.
 */
export function unmetRequests(
  pods: Iterable<PodSummary>,
  nodes: ReadonlyMap<string, NodeInfo> | null,
  runtimeClasses: ReadonlyMap<string, string> | null,
  onNode: (node: string) => boolean,
): UnmetRequest[] {
  if (nodes === null) return [];
  const out: UnmetRequest[] = [];
  for (const p of pods) {
    if (!p.asks || !onNode(p.node) || !judged(p)) continue;
    const runtime = nodes.get(p.node)?.runtime;
    const handler = handlerOf(p.asks, runtimeClasses);
    if (!runtime || handler === null) continue;
    const h = runtime.handlers.find((x) => x.name === handler);
    const missing = missingFor(p.asks, h, runtime);
    if (missing.length > 0)
      out.push({ namespace: p.namespace, name: p.name, node: p.node, handler, missing });
  }
  return out.sort((a, b) => (`${a.namespace}/${a.name}` < `${b.namespace}/${b.name}` ? -1 : 1));
}
