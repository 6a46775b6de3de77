import { toApiError, type ApiError } from '../k8s/errors.js';
import type { ReportCache, ReportStore, StoredReport } from '../k8s/store.js';
import { contentHash, labelValue } from '../report/report.js';
import type { NamespaceReport } from '../report/types.js';
import type { Logger } from '../telemetry/log.js';
import type { Metrics } from '../telemetry/metrics.js';
import type { Health } from './health.js';
import { decideClaim, type ClaimDecision } from './ownership.js';

/**
 * Keeps this node's NamespaceReports as the last scan wants them, comparing with what the API
 * holds now (`held`: a list + watch of this node's reports), never with what it remembers
 * writing. A report deleted or changed by anyone is written again; one of this node for no pod is
 * deleted (only after a complete runtime listing, and only if it is still the object seen); a
 * report its watch does not hold is written only when the Pod of that name is this node's
 * (ownership.ts). Every API outcome goes to `health`.
 */
export interface ReportReconciler {
  /** Brings the API to `want`; true when nothing is left to do. */
  converge(
    want: ReadonlyMap<string, NamespaceReport>,
    held: ReportCache,
    complete: boolean,
    signal: AbortSignal,
  ): Promise<boolean>;
  /** Successful writes so far. */
  readonly writes: number;
}

/** One write: done, failed (retried with backoff), or the API is unreachable (stop this pass). */
type WriteResult = 'ok' | 'failed' | 'unreachable';

export function key(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

const hashes = new WeakMap<NamespaceReport, string>();

/** The hash of what the agent wants, computed like the one of what the API holds (store.ts). */
function hashOf(r: NamespaceReport): string {
  let h = hashes.get(r);
  if (h === undefined) {
    h = contentHash(r);
    hashes.set(r, h);
  }
  return h;
}

/**
 * The report to apply over `stored`: a host label the API holds and the body does not stand for
 * (someone else's: an apply without it would leave it) is written "false", which takes it over
 * and says what its absence says.
 */
function withStrayHostLabels(
  r: NamespaceReport,
  stored: StoredReport | undefined,
): NamespaceReport {
  const stray = (stored?.hostLabels ?? []).filter((l) => r.metadata.labels[l] === undefined);
  if (stray.length === 0) return r;
  const labels = { ...r.metadata.labels };
  for (const l of stray) labels[l] = 'false';
  return { ...r, metadata: { ...r.metadata, labels } };
}

// eslint-disable-next-line max-lines-per-function -- a factory: its closure is the module
export function createReportReconciler(o: {
  readonly store: ReportStore;
  /** This node: its reports carry the label nsreport.dev/node=labelValue(node). */
  readonly node: string;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly health: Health;
  /** A report the Node owns (a static pod's) was restored: the Node may have a new UID. */
  readonly onNodeOwnedRestored?: () => void;
}): ReportReconciler {
  const log = o.log;
  const m = o.metrics;
  const nodeLabel = labelValue(o.node);
  /** Hash of the last write of each report: tells a restore from a change of the pod. */
  const written = new Map<string, string>();
  /** Successful writes so far: a pass that wrote nothing pings the API instead. */
  let writes = 0;

  /** Warnings said once per subject (a disputed report is retried with backoff, not re-said). */
  const said = new Set<string>();
  function sayOnce(subject: string, fields: object, msg: string): void {
    if (said.has(subject)) log.debug(fields, msg);
    else log.warn(fields, msg);
    said.add(subject);
  }

  /** One write. 'unreachable' stops writing for this round: the rest would time out too. */
  async function write(
    operation: 'apply' | 'delete',
    k: string,
    fn: () => Promise<void>,
  ): Promise<WriteResult> {
    try {
      await fn();
      o.health.api(null);
      writes++;
      m.reportWrites.inc({ operation, result: 'ok' });
      o.health.progress();
      return 'ok';
    } catch (err) {
      const e = o.health.api(err) as ApiError;
      if (e.kind === 'conflict') {
        // The object changed since it was seen: the watch brings the new one, then we decide.
        m.reportConflicts.inc({ reason: 'precondition' });
        log.info({ report: k, operation }, 'report changed since it was seen; will decide again');
        return 'failed';
      }
      if (e.kind === 'denied') {
        // The chart's admission policy binds each agent to its node: this write would touch a
        // report of another node (one forged or squatted under this node's pod), or the token
        // carries no node. Retried with backoff; the operator sees it in the metric's alert.
        m.reportWrites.inc({ operation, result: 'denied' });
        sayOnce(
          `denied ${k}`,
          { report: k, operation, err: e.message },
          "the API server's admission policy refused this report write; will retry",
        );
        return 'failed';
      }
      m.reportWrites.inc({ operation, result: 'error' });
      if (e.kind === 'invalid' && operation === 'apply') {
        // The agent's reports validate against its own CRD (a unit test holds them to it): the
        // cluster's is most likely another release's. Helm never upgrades a chart's CRDs.
        sayOnce(
          `invalid ${k}`,
          { report: k, err: e.message },
          "the cluster's NamespaceReport CRD refused this report (is it another release's?); apply this release's CRD (manifests/crd.yaml); will retry",
        );
        return 'failed';
      }
      log.warn(
        { report: k, operation, kind: e.kind, err: e.message },
        'report write failed; will retry',
      );
      return e.kind === 'unreachable' || e.kind === 'timeout' ? 'unreachable' : 'failed';
    }
  }

  /**
   * How to write a report this node's watch does not hold (ownership.ts): the report as the API
   * holds it, then, when it claims another node or none, the Pod of that name.
   */
  async function claim(r: NamespaceReport): Promise<{ decision: ClaimDecision; holder: string }> {
    const facts = {
      node: o.node,
      nodeLabel,
      podUid: r.report.pod.uid,
      hash: hashOf(r),
      existing: await o.store.get(r.metadata.namespace, r.metadata.name),
    };
    const holder = facts.existing?.nodeLabel ?? '';
    const first = decideClaim(facts);
    if (first.action !== 'look-up-pod') return { decision: first, holder };
    try {
      const pod = await o.store.podBinding(r.metadata.namespace, r.metadata.name);
      return { decision: decideClaim({ ...facts, pod }), holder };
    } catch (err) {
      const e = toApiError(err);
      if (e.kind !== 'forbidden') throw e;
      // An RBAC without `get pods` (a chart before it): what the report says is all there is,
      // and another node's word is not taken over.
      sayOnce(
        'pods-forbidden',
        { err: e.message },
        'cannot read Pods: reports that claim another node are left alone',
      );
      return { decision: { action: 'leave', why: 'other-node' }, holder };
    }
  }

  /**
   * The precondition of writing a report this node's watch does not hold, or the outcome when it
   * is not to be written (or its reads failed).
   */
  async function preconditionForNew(
    k: string,
    r: NamespaceReport,
  ): Promise<{ resourceVersion: string | null } | WriteResult> {
    // A stopped sandbox updates its report but never makes one: its Pod may be gone from the
    // API (the kubelet removes sandboxes some time after), and a report owned by a Pod that is
    // gone would be collected and written again forever.
    if (r.report.sandbox.state !== 'ready') return 'ok';
    let c: ClaimDecision;
    let holder: string;
    try {
      ({ decision: c, holder } = await claim(r));
    } catch (err) {
      // The reads before the write failed: the write did too.
      const e = o.health.api(err) as ApiError;
      m.reportWrites.inc({ operation: 'apply', result: 'error' });
      log.warn({ report: k, kind: e.kind, err: e.message }, 'report read failed; will retry');
      return e.kind === 'unreachable' || e.kind === 'timeout' ? 'unreachable' : 'failed';
    }
    if (c.action === 'create') return { resourceVersion: null };
    if (c.action === 'update') {
      if (c.takeOver) {
        m.reportConflicts.inc({ reason: 'held-by-other-node' });
        sayOnce(
          `held ${k}`,
          { report: k, holder },
          "report of a pod bound to this node claims another node: writing it as this node's",
        );
      }
      return { resourceVersion: c.resourceVersion };
    }
    if (c.action === 'wait') {
      m.reportConflicts.inc({ reason: c.why });
      log.debug(
        { report: k, holder },
        "another node's report of a previous pod of this name; waiting",
      );
      return 'failed';
    }
    if (c.action === 'leave' && c.why !== 'same') {
      m.reportConflicts.inc({ reason: 'other-node' });
      log.debug({ report: k, why: c.why }, "another node's pod, or a pod that is gone; left alone");
    }
    return 'ok';
  }

  function restored(k: string, r: NamespaceReport): void {
    m.reportRestores.inc();
    log.info({ report: k }, 'report deleted or changed by someone else: restored');
    // A static pod's report collected: the Node may have been made again with a new UID.
    if (r.metadata.ownerReferences?.[0]?.kind === 'Node') o.onNodeOwnedRestored?.();
  }

  async function applyOne(
    k: string,
    r: NamespaceReport,
    stored: StoredReport | undefined,
  ): Promise<WriteResult> {
    // Restored: what the API holds is not what this agent last wrote (someone deleted or changed
    // it), whether or not this write's content is the same as that last write's.
    const restoring = written.has(k) && stored?.hash !== written.get(k);
    let precondition: string | null = stored?.resourceVersion ?? null;
    if (!stored) {
      const c = await preconditionForNew(k, r);
      if (typeof c === 'string') return c;
      precondition = c.resourceVersion;
    }
    const result = await write('apply', k, () =>
      o.store.apply(withStrayHostLabels(r, stored), precondition),
    );
    if (result === 'ok') {
      said.delete(`held ${k}`);
      said.delete(`denied ${k}`);
      said.delete(`invalid ${k}`);
      if (restoring) restored(k, r);
      written.set(k, hashOf(r));
    }
    return result;
  }

  /** Writes every wanted report the API does not hold as wanted. */
  async function applyWanted(
    want: ReadonlyMap<string, NamespaceReport>,
    held: ReportCache,
    signal: AbortSignal,
  ): Promise<WriteResult> {
    let outcome: WriteResult = 'ok';
    for (const [k, r] of want) {
      if (signal.aborted) return 'failed';
      const stored = held.get(r.metadata.namespace, r.metadata.name);
      if (stored?.hash === hashOf(r)) continue;
      const result = await applyOne(k, r, stored);
      if (result === 'unreachable') return result;
      if (result === 'failed') outcome = result;
    }
    return outcome;
  }

  /** Deletes this node's reports of pods that are gone, each only if it is still as seen. */
  async function deleteUnwanted(
    want: ReadonlyMap<string, NamespaceReport>,
    held: ReportCache,
    signal: AbortSignal,
  ): Promise<boolean> {
    let clean = true;
    for (const s of held.list()) {
      const k = key(s.namespace, s.name);
      if (want.has(k) || s.nodeLabel !== nodeLabel) continue;
      if (signal.aborted) return false;
      const result = await write('delete', k, () => o.store.remove(s));
      if (result === 'unreachable') return false;
      if (result === 'ok') written.delete(k);
      clean &&= result === 'ok';
    }
    for (const k of written.keys()) if (!want.has(k)) written.delete(k);
    return clean;
  }

  return {
    get writes() {
      return writes;
    },
    async converge(want, held, complete, signal) {
      if (!held.synced) return false;
      const applied = await applyWanted(want, held, signal);
      // Deletes need a complete listing of the runtime (a failed one says nothing about pods),
      // and an API that answers.
      if (!complete || applied === 'unreachable' || signal.aborted) return false;
      return (await deleteUnwanted(want, held, signal)) && applied === 'ok';
    },
  };
}
