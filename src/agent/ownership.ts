import type { PodBinding, StoredReport } from '../k8s/store.js';

/**
 * Who writes a report: decided from the Pod, never from what a report says about itself. A
 * report's labels and body are anyone's to edit (and a compromised node's agent to forge), so an
 * agent holds a report its watch does not hold — one labelled with another node, or with none —
 * against the Pod of that name: when that Pod is the one this node runs (its UID, or for a static
 * pod its mirror's `kubernetes.io/config.mirror`) and the API binds it here (`spec.nodeName`), the
 * report is this node's, whatever it claims. Otherwise it is another node's, or a report of a Pod
 * that is gone (its owner reference lets the garbage collector take it): left alone. A report of
 * a previous Pod of that name (a StatefulSet pod that moved here: the old Pod's UID, its old
 * node's label) is waited for: its node's agent or the garbage collector removes it, and no agent
 * may rewrite another node's report where the chart's admission policy is on.
 */

/** What this node's agent wants to write, and what the API holds under that name. */
export interface ClaimFacts {
  /** This node's name (`spec.nodeName` of the Pods bound to it). */
  readonly node: string;
  /** This node's `nsreport.dev/node` label value. */
  readonly nodeLabel: string;
  /** The CRI UID of the pod this node runs under the report's name (a ready sandbox). */
  readonly podUid: string;
  /** contentHash of the report wanted. */
  readonly hash: string;
  /** The report the API holds, or null. */
  readonly existing: StoredReport | null;
  /** The Pod of that name: null when there is none, undefined when not looked up (yet). */
  readonly pod?: PodBinding | null;
}

export type ClaimDecision =
  /** No report of that name: create it. */
  | { readonly action: 'create' }
  /** Write over the object seen (resourceVersion precondition). */
  | {
      readonly action: 'update';
      readonly resourceVersion: string;
      /** The report claims another node (or none) but the Pod is bound here. */
      readonly takeOver: boolean;
    }
  /** Another node's report, or one already as wanted, or of a Pod that is gone: not written. */
  | { readonly action: 'leave'; readonly why: 'same' | 'other-node' | 'pod-gone' }
  /** Another node's report of a previous Pod of that name: try again soon, it is going. */
  | { readonly action: 'wait'; readonly why: 'previous-pod' }
  /** The report is not labelled with this node: the Pod must be read to decide. */
  | { readonly action: 'look-up-pod' };

/** Whether the API binds the Pod this node runs under that name to this node. */
export function boundHere(pod: PodBinding, podUid: string, node: string): boolean {
  return pod.node === node && podUid !== '' && (pod.uid === podUid || pod.mirrorOf === podUid);
}

/**
 * The decision for a report this node's watch does not hold (its watch holds those labelled with
 * this node, which it writes without asking). Called again with the Pod when it says
 * `look-up-pod`.
 */
export function decideClaim(f: ClaimFacts): ClaimDecision {
  const e = f.existing;
  if (e === null) return { action: 'create' };
  if (e.hash === f.hash) return { action: 'leave', why: 'same' };
  if (e.nodeLabel === f.nodeLabel)
    return { action: 'update', resourceVersion: e.resourceVersion, takeOver: false };
  if (f.pod === undefined) return { action: 'look-up-pod' };
  if (f.pod === null) return { action: 'leave', why: 'pod-gone' };
  if (!boundHere(f.pod, f.podUid, f.node)) return { action: 'leave', why: 'other-node' };
  // The report names the Pod it describes; a forger may lie there too, and then the audit, which
  // holds every report against its Pod, says so.
  return e.podUid === f.podUid
    ? { action: 'update', resourceVersion: e.resourceVersion, takeOver: true }
    : { action: 'wait', why: 'previous-pod' };
}
