import { errorText } from '../base/errors.js';
import { CriError } from '../cri/errors.js';
import type { RuntimeClient } from '../cri/types.js';
import { ApiError, toApiError } from '../k8s/errors.js';
import type { ReportCache, ReportStore, StoredReport } from '../k8s/store.js';
import { buildReport, contentHash, labelValue } from '../report/report.js';
import type { NamespaceReport } from '../report/types.js';
import type { Logger } from '../telemetry/log.js';
import type { Metrics } from '../telemetry/metrics.js';
import type { Probes } from '../telemetry/server.js';
import type { OpenReportsSync } from './openreports.js';
import type { ScanResult, Scanner } from '../collect/scanner.js';
import { buildOpenReport, type OpenReport } from '../report/openreport.js';
import { followEvents } from './events.js';
import type { PodImages } from './images.js';
import { decideClaim, type ClaimDecision } from './ownership.js';

export interface AgentOptions {
  readonly scanner: Scanner;
  readonly runtime: RuntimeClient;
  readonly store: ReportStore;
  /** This node: its reports carry the label nsreport.dev/node=labelValue(node). */
  readonly node: string;
  readonly resyncMs: number;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly now?: () => number;
  /** Coalesces bursts of CRI events (and of watch events) into one pass. */
  readonly eventDebounceMs?: number;
  /**
   * How long the runtime may stay unreachable before /healthz fails, so that the kubelet
   * restarts the agent (default: 3 resyncs, at least 90 s).
   */
  readonly runtimeDeadlineMs?: number;
  /** Also writes OpenReports Reports (--openreports). */
  readonly openReports?: OpenReportsSync;
  /** The images users wrote, from the Pod spec, where the runtime does not keep them. */
  readonly images?: PodImages;
}

export interface Agent {
  /** Runs until the signal aborts; the in-flight write finishes first. */
  run(signal: AbortSignal): Promise<void>;
  readonly probes: Probes;
}

const MAX_BACKOFF_MS = 30_000;

/** One write: done, failed (retried with backoff), or the API is unreachable (stop this pass). */
type WriteResult = 'ok' | 'failed' | 'unreachable';

function key(namespace: string, name: string): string {
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

/** Resolves after `ms`, or earlier when `wake` is called or the signal aborts. */
function waiter(): { wait(ms: number, signal: AbortSignal): Promise<void>; wake(): void } {
  let release: (() => void) | null = null;
  let woken = false;
  return {
    wait(ms, signal) {
      if (woken || signal.aborted) {
        woken = false;
        return Promise.resolve();
      }
      return new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          signal.removeEventListener('abort', done);
          release = null;
          woken = false;
          resolve();
        };
        const timer = setTimeout(done, ms);
        signal.addEventListener('abort', done, { once: true });
        release = done;
      });
    },
    wake() {
      woken = true;
      release?.();
    },
  };
}

/**
 * The DaemonSet loop, level-triggered: it scans on start, on CRI events and every resync, and
 * converges the API on what the last complete scan wants, comparing with what the API holds
 * now (a list + watch of this node's reports), never with what it remembers writing. A report
 * deleted or changed by anyone is written again; one of this node for no pod is deleted (only
 * after a complete runtime listing, and only if it is still the object seen); a report that
 * another node's agent holds is left alone unless this node has the live pod and that one not.
 */
export function createAgent(opts: AgentOptions): Agent {
  const now = opts.now ?? Date.now;
  const log = opts.log.child({ module: 'agent' });
  const m = opts.metrics;
  const nodeLabel = labelValue(opts.node);
  const runtimeDeadlineMs = opts.runtimeDeadlineMs ?? Math.max(3 * opts.resyncMs, 90_000);
  /** The reports the last scan wants; null before the first complete scan. */
  let desired: Map<string, NamespaceReport> | null = null;
  /** The OpenReports the last scan wants (with --openreports). */
  let desiredOpen: Map<string, OpenReport> | null = null;
  /** Whether the latest scan listed the runtime completely (deletes need one). */
  let lastScanComplete = false;
  /** Hash of the last write of each report: tells a restore from a change of the pod. */
  const written = new Map<string, string>();
  let cache: ReportCache | null = null;
  let nodeUid: string | null = null;
  let nodeUidWarned = false;
  let firstScanDone = false;
  let criOk = false;
  let criFailingSince: number | null = now();
  let apiOk = false;
  let lastProgress = now();
  let backoffMs = 0;
  /** Successful writes so far: a pass that wrote nothing pings the API instead. */
  let writes = 0;
  let scanRequested = true;
  let nextScanAt = 0;
  const trigger = waiter();
  let debounce: NodeJS.Timeout | null = null;

  function soon(rescan: boolean): void {
    if (rescan) scanRequested = true;
    if (debounce) return;
    debounce = setTimeout(() => {
      debounce = null;
      trigger.wake();
    }, opts.eventDebounceMs ?? 100);
  }

  /** Warnings said once per subject (a disputed report is retried with backoff, not re-said). */
  const said = new Set<string>();
  function sayOnce(subject: string, fields: object, msg: string): void {
    if (said.has(subject)) log.debug(fields, msg);
    else log.warn(fields, msg);
    said.add(subject);
  }

  function apiResult(err: unknown): ApiError | null {
    if (err === null) {
      apiOk = true;
      return null;
    }
    const e = toApiError(err);
    if (
      e.retryable ||
      e.kind === 'unauthorized' ||
      e.kind === 'forbidden' ||
      e.kind === 'crd-missing'
    )
      apiOk = false;
    return e;
  }

  /** The Node's UID, the owner of static pods' reports; looked up until known. */
  async function ownerNodeUid(result: ScanResult): Promise<string | null> {
    if (nodeUid !== null || !result.pods.some((p) => p.static)) return nodeUid;
    try {
      nodeUid = await opts.store.nodeUid(opts.node);
      if (nodeUid === null && !nodeUidWarned) {
        log.warn({ node: opts.node }, "no Node of this name: static pods' reports get no owner");
        nodeUidWarned = true;
      }
    } catch (err) {
      if (!nodeUidWarned) {
        log.warn(
          { err: toApiError(err).message },
          "cannot read this Node: static pods' reports get no owner until it can",
        );
        nodeUidWarned = true;
      }
    }
    return nodeUid;
  }

  async function scan(): Promise<void> {
    const end = m.scanDuration.startTimer();
    let result: ScanResult;
    try {
      result = await opts.scanner.scan();
    } catch (err) {
      end();
      lastScanComplete = false;
      m.scans.inc({ result: 'error' });
      if (!(err instanceof CriError)) {
        // Not the runtime's failure but something the scan met: said, and tried again at the
        // next resync rather than a crash that would meet it again after the restart.
        log.error(
          { err: errorText(err) },
          'scan failed unexpectedly: nothing written or deleted; will retry',
        );
        return;
      }
      criOk = false;
      criFailingSince ??= now();
      log.warn(
        { err: err.message, kind: err.kind },
        'scan failed: runtime not listed, nothing deleted',
      );
      return;
    }
    end();
    criOk = true;
    criFailingSince = null;
    firstScanDone = true;
    lastScanComplete = true;
    m.scans.inc({ result: 'ok' });
    m.lastScan.set(now() / 1000);
    m.hostReferenceReadable.set(result.snapshot.host.namespaces.ok ? 1 : 0);
    m.observeInventory(result.pods);
    for (const w of result.warnings) log.warn({ warning: w }, 'scan warning');
    const uid = await ownerNodeUid(result);
    const pods = opts.images ? await opts.images.fill(result.pods) : result.pods;
    desired = new Map(
      pods.map((pod) => {
        const r = buildReport(pod, uid);
        return [key(r.metadata.namespace, r.metadata.name), r];
      }),
    );
    if (opts.openReports) {
      desiredOpen = new Map();
      for (const pod of pods) {
        const r = buildOpenReport(pod, uid);
        if (r) desiredOpen.set(key(r.metadata.namespace, r.metadata.name), r);
      }
    }
  }

  /** One write. 'unreachable' stops writing for this round: the rest would time out too. */
  async function write(
    operation: 'apply' | 'delete',
    k: string,
    fn: () => Promise<void>,
  ): Promise<WriteResult> {
    try {
      await fn();
      apiResult(null);
      writes++;
      m.reportWrites.inc({ operation, result: 'ok' });
      lastProgress = now();
      return 'ok';
    } catch (err) {
      const e = apiResult(err) as ApiError;
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
      node: opts.node,
      nodeLabel,
      podUid: r.report.pod.uid,
      hash: hashOf(r),
      existing: await opts.store.get(r.metadata.namespace, r.metadata.name),
    };
    const holder = facts.existing?.nodeLabel ?? '';
    const first = decideClaim(facts);
    if (first.action !== 'look-up-pod') return { decision: first, holder };
    try {
      const pod = await opts.store.podBinding(r.metadata.namespace, r.metadata.name);
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
      const e = apiResult(err) as ApiError;
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

  async function applyOne(
    k: string,
    r: NamespaceReport,
    stored: StoredReport | undefined,
  ): Promise<WriteResult> {
    let precondition: string | null = stored?.resourceVersion ?? null;
    if (!stored) {
      const c = await preconditionForNew(k, r);
      if (typeof c === 'string') return c;
      precondition = c.resourceVersion;
    }
    const result = await write('apply', k, () =>
      opts.store.apply(withStrayHostLabels(r, stored), precondition),
    );
    if (result === 'ok') {
      said.delete(`held ${k}`);
      said.delete(`denied ${k}`);
      said.delete(`invalid ${k}`);
      if (written.get(k) === hashOf(r)) {
        m.reportRestores.inc();
        log.info({ report: k }, 'report deleted or changed by someone else: restored');
        // A static pod's report collected: the Node may have been made again with a new UID.
        if (r.metadata.ownerReferences?.[0]?.kind === 'Node') nodeUid = null;
      }
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
      const result = await write('delete', k, () => opts.store.remove(s));
      if (result === 'unreachable') return false;
      if (result === 'ok') written.delete(k);
      clean &&= result === 'ok';
    }
    for (const k of written.keys()) if (!want.has(k)) written.delete(k);
    return clean;
  }

  /** Brings the API to what the last scan wants; true when nothing is left to do. */
  async function converge(signal: AbortSignal): Promise<boolean> {
    if (desired === null || cache === null || !cache.synced) return false;
    const applied = await applyWanted(desired, cache, signal);
    // Deletes need a complete listing of the runtime (a failed one says nothing about pods),
    // and an API that answers.
    if (!lastScanComplete || applied === 'unreachable' || signal.aborted) return false;
    return (await deleteUnwanted(desired, cache, signal)) && applied === 'ok';
  }

  async function cycle(signal: AbortSignal): Promise<boolean> {
    if (scanRequested || now() >= nextScanAt) {
      scanRequested = false;
      nextScanAt = now() + opts.resyncMs;
      await scan();
    }
    const before = writes;
    const clean = await converge(signal);
    if (opts.openReports && desiredOpen && !signal.aborted)
      await opts.openReports.sync(desiredOpen, lastScanComplete, signal);
    if (clean && before === writes) {
      // Nothing written: a cheap read keeps readiness honest about the API.
      try {
        await opts.store.ping();
        apiResult(null);
      } catch (err) {
        apiResult(err);
      }
    }
    lastProgress = now();
    return clean && lastScanComplete;
  }

  return {
    async run(signal: AbortSignal): Promise<void> {
      cache = opts.store.watchNodeReports(
        opts.node,
        {
          onChange: () => {
            soon(false);
          },
          onRestart: (reason, err) => {
            m.watchRestarts.inc({ reason });
            if (err) apiResult(err);
            const fields = { reason, ...(err ? { kind: err.kind, err: err.message } : {}) };
            if (reason === 'error') log.warn(fields, 'watch of reports failed; relisting');
            else log.debug(fields, 'watch of reports restarted');
          },
        },
        signal,
      );
      const events = followEvents(
        {
          runtime: opts.runtime,
          onEvent: () => {
            soon(true);
          },
          resyncMs: opts.resyncMs,
          log: opts.log,
          metrics: m,
        },
        signal,
      );
      while (!signal.aborted) {
        const clean = await cycle(signal);
        backoffMs = clean ? 0 : Math.min(Math.max(backoffMs * 2, 1000), MAX_BACKOFF_MS);
        const untilScan = Math.max(nextScanAt - now(), 0);
        await trigger.wait(backoffMs > 0 ? Math.min(backoffMs, untilScan) : untilScan, signal);
      }
      if (debounce) clearTimeout(debounce);
      await events;
    },
    probes: {
      healthy() {
        const idle = now() - lastProgress;
        const limit = 2 * opts.resyncMs + 60_000;
        if (idle >= limit)
          return { ok: false, reason: `no progress for ${Math.round(idle / 1000)}s` };
        const down = criFailingSince === null ? 0 : now() - criFailingSince;
        if (down >= runtimeDeadlineMs)
          return {
            ok: false,
            reason: `container runtime unreachable for ${Math.round(down / 1000)}s`,
          };
        return { ok: true, reason: 'loop running' };
      },
      ready() {
        if (!firstScanDone) return { ok: false, reason: 'first scan not done' };
        if (!criOk) return { ok: false, reason: 'container runtime unreachable' };
        if (!cache?.synced) return { ok: false, reason: 'reports of this node not listed yet' };
        if (!apiOk) return { ok: false, reason: 'Kubernetes API unreachable' };
        return { ok: true, reason: 'scanning and writing' };
      },
    },
  };
}
