import { CriError } from '../cri/errors.js';
import type { RuntimeClient } from '../cri/types.js';
import { ApiError, toApiError } from '../k8s/errors.js';
import type { ReportStore } from '../k8s/store.js';
import { buildReport } from '../report/report.js';
import { ANNOTATION_CONTENT_HASH, type NamespaceReport } from '../report/types.js';
import type { Logger } from '../telemetry/log.js';
import type { Metrics } from '../telemetry/metrics.js';
import type { Probes } from '../telemetry/server.js';
import type { ScanResult, Scanner } from './scanner.js';

export interface AgentOptions {
  readonly scanner: Scanner;
  readonly runtime: RuntimeClient;
  readonly store: ReportStore;
  /** This node: its reports carry the label nsreport.dev/node=<node>. */
  readonly node: string;
  readonly resyncMs: number;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly now?: () => number;
  /** Coalesces bursts of CRI events into one scan. */
  readonly eventDebounceMs?: number;
}

export interface Agent {
  /** Runs until the signal aborts; the in-flight write finishes first. */
  run(signal: AbortSignal): Promise<void>;
  readonly probes: Probes;
}

const MAX_BACKOFF_MS = 30_000;

function key(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

function hashOf(r: NamespaceReport): string {
  return r.metadata.annotations[ANNOTATION_CONTENT_HASH] ?? '';
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
 * The DaemonSet loop: scan on start, on CRI events and every resync; write each report whose
 * content hash changed (server-side apply); delete this node's reports whose pod is gone, but
 * only after a complete runtime listing. Failed writes stay pending and are retried with backoff.
 */
export function createAgent(opts: AgentOptions): Agent {
  const now = opts.now ?? Date.now;
  const log = opts.log.child({ module: 'agent' });
  /** What the API holds for this node: key → content hash. Known once `listed`. */
  const applied = new Map<string, string>();
  const pendingApply = new Map<string, NamespaceReport>();
  const pendingDelete = new Set<string>();
  let listed = false;
  let firstScanDone = false;
  let criOk = false;
  let apiOk = false;
  let lastProgress = now();
  let backoffMs = 0;
  const trigger = waiter();
  let debounce: NodeJS.Timeout | null = null;

  function onEvent(): void {
    if (debounce) return;
    debounce = setTimeout(() => {
      debounce = null;
      trigger.wake();
    }, opts.eventDebounceMs ?? 100);
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

  async function listExisting(node: string): Promise<void> {
    try {
      const reports = await opts.store.listNodeReports(node);
      for (const r of reports) applied.set(key(r.namespace, r.name), r.hash ?? '');
      listed = true;
      apiResult(null);
      log.info({ reports: reports.length }, 'existing reports of this node listed');
    } catch (err) {
      const e = apiResult(err);
      log.warn({ err: e?.message }, 'cannot list existing reports yet');
    }
  }

  async function scan(): Promise<ScanResult | null> {
    const end = opts.metrics.scanDuration.startTimer();
    try {
      const result = await opts.scanner.scan();
      end();
      criOk = true;
      firstScanDone = true;
      opts.metrics.scans.inc({ result: 'ok' });
      opts.metrics.lastScan.set(now() / 1000);
      opts.metrics.hostReferenceReadable.set(result.snapshot.host.namespaces.ok ? 1 : 0);
      opts.metrics.observeInventory(result.pods);
      for (const w of result.warnings) log.warn({ warning: w }, 'scan warning');
      return result;
    } catch (err) {
      end();
      criOk = false;
      opts.metrics.scans.inc({ result: 'error' });
      if (!(err instanceof CriError)) throw err;
      log.warn(
        { err: err.message, kind: err.kind },
        'scan failed: runtime not listed, nothing deleted',
      );
      return null;
    }
  }

  /** Decides what to write from a complete scan. */
  function reconcile(result: ScanResult): void {
    const desired = new Map<string, NamespaceReport>();
    for (const pod of result.pods) {
      const r = buildReport(pod);
      desired.set(key(r.metadata.namespace, r.metadata.name), r);
    }
    for (const [k, r] of desired) {
      pendingDelete.delete(k);
      if (applied.get(k) === hashOf(r)) pendingApply.delete(k);
      else pendingApply.set(k, r);
    }
    if (!listed) return;
    for (const k of applied.keys()) if (!desired.has(k)) pendingDelete.add(k);
    for (const k of pendingApply.keys()) if (!desired.has(k)) pendingApply.delete(k);
  }

  /** One write. 'unreachable' stops writing for this round: the rest would time out too. */
  async function write(
    operation: 'apply' | 'delete',
    k: string,
    fn: () => Promise<void>,
  ): Promise<'ok' | 'failed' | 'unreachable'> {
    try {
      await fn();
      apiResult(null);
      opts.metrics.reportWrites.inc({ operation, result: 'ok' });
      lastProgress = now();
      return 'ok';
    } catch (err) {
      const e = apiResult(err) as ApiError;
      opts.metrics.reportWrites.inc({ operation, result: 'error' });
      log.warn(
        { report: k, operation, kind: e.kind, err: e.message },
        'report write failed; will retry',
      );
      return e.kind === 'unreachable' || e.kind === 'timeout' ? 'unreachable' : 'failed';
    }
  }

  /** Writes what is pending; true when nothing is left. */
  async function flush(signal: AbortSignal): Promise<boolean> {
    for (const [k, r] of [...pendingApply]) {
      if (signal.aborted) return false;
      const result = await write('apply', k, () => opts.store.apply(r));
      if (result === 'unreachable') return false;
      if (result === 'ok') {
        applied.set(k, hashOf(r));
        pendingApply.delete(k);
      }
    }
    for (const k of [...pendingDelete]) {
      if (signal.aborted) return false;
      const [namespace = '', name = ''] = k.split('/');
      const result = await write('delete', k, () => opts.store.remove(namespace, name));
      if (result === 'unreachable') return false;
      if (result === 'ok') {
        applied.delete(k);
        pendingDelete.delete(k);
      }
    }
    return pendingApply.size + pendingDelete.size === 0;
  }

  async function cycle(signal: AbortSignal, node: string): Promise<boolean> {
    if (!listed) await listExisting(node);
    const result = await scan();
    if (result) reconcile(result);
    const wrote = pendingApply.size + pendingDelete.size > 0;
    const clean = await flush(signal);
    if (!wrote && listed) {
      // Nothing to write: a cheap read keeps readiness honest about the API.
      try {
        await opts.store.ping();
        apiResult(null);
      } catch (err) {
        apiResult(err);
      }
    }
    lastProgress = now();
    return clean && result !== null;
  }

  async function watchEvents(signal: AbortSignal): Promise<void> {
    let retryMs = 1000;
    while (!signal.aborted) {
      try {
        await opts.runtime.watchEvents(onEvent, signal);
        retryMs = 1000;
      } catch (err) {
        if (err instanceof CriError && err.kind === 'unimplemented') {
          log.info('runtime has no GetContainerEvents: polling every resync');
          return;
        }
        log.warn(
          { err: err instanceof Error ? err.message : String(err) },
          'CRI event stream failed; retrying',
        );
        await new Promise((r) => setTimeout(r, retryMs));
        retryMs = Math.min(retryMs * 2, MAX_BACKOFF_MS);
      }
    }
  }

  return {
    async run(signal: AbortSignal): Promise<void> {
      const events = watchEvents(signal);
      while (!signal.aborted) {
        const clean = await cycle(signal, opts.node);
        backoffMs = clean ? 0 : Math.min(Math.max(backoffMs * 2, 1000), MAX_BACKOFF_MS);
        await trigger.wait(
          backoffMs > 0 ? Math.min(backoffMs, opts.resyncMs) : opts.resyncMs,
          signal,
        );
      }
      if (debounce) clearTimeout(debounce);
      await events;
    },
    probes: {
      healthy() {
        const idle = now() - lastProgress;
        const limit = 2 * opts.resyncMs + 60_000;
        return idle < limit
          ? { ok: true, reason: 'loop running' }
          : { ok: false, reason: `no progress for ${Math.round(idle / 1000)}s` };
      },
      ready() {
        if (!firstScanDone) return { ok: false, reason: 'first scan not done' };
        if (!criOk) return { ok: false, reason: 'container runtime unreachable' };
        if (!apiOk) return { ok: false, reason: 'Kubernetes API unreachable' };
        return { ok: true, reason: 'scanning and writing' };
      },
    },
  };
}
