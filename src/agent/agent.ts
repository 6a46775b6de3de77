import { errorText } from '../base/errors.js';
import { CriError } from '../cri/errors.js';
import type { RuntimeClient } from '../cri/types.js';
import { toApiError } from '../k8s/errors.js';
import type { ReportCache, ReportStore } from '../k8s/store.js';
import { buildReport } from '../report/report.js';
import type { NamespaceReport } from '../report/types.js';
import type { Logger } from '../telemetry/log.js';
import type { Metrics } from '../telemetry/metrics.js';
import type { Probes } from '../telemetry/server.js';
import type { OpenReportsSync } from './openreports.js';
import type { ScanResult, Scanner } from '../collect/scanner.js';
import { buildOpenReport, type OpenReport } from '../report/openreport.js';
import { followEvents } from './events.js';
import { createHealth } from './health.js';
import type { PodImages } from './images.js';
import { createReportReconciler, key } from './reconciler.js';
import { createSchedule } from './schedule.js';

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

/**
 * The DaemonSet loop, level-triggered, wired from four parts: the schedule (schedule.ts: a pass
 * on start, on CRI events, on watch events, every resync; backoff when a pass left work undone),
 * the scan (the scanner, then the reports it wants), the reconciler (reconciler.ts: the API
 * brought to what the last complete scan wants, compared with what the API holds now) and the
 * probes' state (health.ts).
 */
// eslint-disable-next-line max-lines-per-function -- a factory: its closure is the module
export function createAgent(opts: AgentOptions): Agent {
  const now = opts.now ?? Date.now;
  const log = opts.log.child({ module: 'agent' });
  const m = opts.metrics;
  /** The reports the last scan wants; null before the first complete scan. */
  let desired: Map<string, NamespaceReport> | null = null;
  /** The OpenReports the last scan wants (with --openreports). */
  let desiredOpen: Map<string, OpenReport> | null = null;
  /** Whether the latest scan listed the runtime completely (deletes need one). */
  let lastScanComplete = false;
  let cache: ReportCache | null = null;
  let nodeUid: string | null = null;
  let nodeUidWarned = false;
  const health = createHealth({
    now,
    limits: {
      idleMs: 2 * opts.resyncMs + 60_000,
      runtimeDeadlineMs: opts.runtimeDeadlineMs ?? Math.max(3 * opts.resyncMs, 90_000),
    },
    reportsListed: () => cache?.synced ?? false,
  });
  const schedule = createSchedule({
    now,
    resyncMs: opts.resyncMs,
    debounceMs: opts.eventDebounceMs ?? 100,
  });
  const reconciler = createReportReconciler({
    store: opts.store,
    node: opts.node,
    log,
    metrics: m,
    health,
    onNodeOwnedRestored: () => {
      nodeUid = null;
    },
  });

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
      health.runtime(false);
      log.warn(
        { err: err.message, kind: err.kind },
        'scan failed: runtime not listed, nothing deleted',
      );
      return;
    }
    end();
    health.runtime(true);
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

  async function cycle(signal: AbortSignal): Promise<boolean> {
    if (schedule.takeScan()) await scan();
    const before = reconciler.writes;
    const clean =
      desired !== null &&
      cache !== null &&
      (await reconciler.converge(desired, cache, lastScanComplete, signal));
    if (opts.openReports && desiredOpen && !signal.aborted)
      await opts.openReports.sync(desiredOpen, lastScanComplete, signal);
    if (clean && before === reconciler.writes) {
      // Nothing written: a cheap read keeps readiness honest about the API.
      try {
        await opts.store.ping();
        health.api(null);
      } catch (err) {
        health.api(err);
      }
    }
    health.progress();
    return clean && lastScanComplete;
  }

  return {
    async run(signal: AbortSignal): Promise<void> {
      cache = opts.store.watchNodeReports(
        opts.node,
        {
          onChange: () => {
            schedule.soon(false);
          },
          onRestart: (reason, err) => {
            m.watchRestarts.inc({ reason });
            if (err) health.api(err);
            const fields = { reason, ...(err ? { kind: err.kind, err: err.message } : {}) };
            if (reason === 'error') log.warn(fields, 'watch of reports failed; relisting');
            else log.debug(fields, 'watch of reports restarted');
          },
        },
        signal,
      );
      opts.openReports?.watch(() => {
        schedule.soon(false);
      }, signal);
      const events = followEvents(
        {
          runtime: opts.runtime,
          onEvent: () => {
            schedule.soon(true);
          },
          resyncMs: opts.resyncMs,
          log: opts.log,
          metrics: m,
        },
        signal,
      );
      while (!signal.aborted) await schedule.next(await cycle(signal), signal);
      schedule.close();
      await events;
    },
    probes: health.probes,
  };
}
