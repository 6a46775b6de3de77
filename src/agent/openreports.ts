import { toApiError, type ApiError } from '../k8s/errors.js';
import type { Reflection } from '../k8s/reflector.js';
import type { ReportStore, StoredOpenReport } from '../k8s/store.js';
import type { OpenReport } from '../report/openreport.js';
import { ANNOTATION_CONTENT_HASH } from '../report/types.js';
import type { Logger } from '../telemetry/log.js';
import type { Metrics } from '../telemetry/metrics.js';

/**
 * Keeps this node's OpenReports Reports as the last scan wants them: written when their content
 * changed (by hash), deleted when their pod has no finding that counts any more or is gone (after
 * a complete scan only, and only the object seen). What the API holds is listed and watched
 * (k8s/reflector.ts), so a Report deleted or edited by someone is written again at the next pass,
 * which its event asks for. A Report's Pod owns it: the garbage collector removes it with the pod.
 * Failures are logged and counted, never fatal: this is an extra output beside the
 * NamespaceReports.
 */
export interface OpenReportsSync {
  /** Lists and watches this node's Reports until the signal aborts; `onChange` on each change. */
  watch(onChange: () => void, signal: AbortSignal): void;
  sync(
    desired: ReadonlyMap<string, OpenReport>,
    complete: boolean,
    signal: AbortSignal,
  ): Promise<void>;
}

/** Whether an error says the OpenReports CRD is not installed (said once, retried quietly). */
function crdMissing(e: ApiError): boolean {
  return e.kind === 'crd-missing' || e.kind === 'not-found';
}

export function createOpenReportsSync(o: {
  readonly store: ReportStore;
  readonly node: string;
  readonly log: Logger;
  readonly metrics: Metrics;
}): OpenReportsSync {
  const log = o.log.child({ module: 'openreports' });
  let held: Reflection<StoredOpenReport> | null = null;
  let warned = false;

  function failed(operation: string, what: string, err: unknown): void {
    const e = toApiError(err);
    o.metrics.reportWrites.inc({ operation, result: 'error' });
    if (crdMissing(e)) {
      if (!warned)
        log.warn({ err: e.message }, 'OpenReports CRD (reports.openreports.io) not installed');
      warned = true;
      return;
    }
    log.warn(
      { report: what, operation, kind: e.kind, err: e.message },
      'OpenReports write failed; will retry',
    );
  }

  /** One write, counted; a failure is said (and retried at the next pass). */
  async function attempt(operation: string, k: string, fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
      o.metrics.reportWrites.inc({ operation, result: 'ok' });
    } catch (err) {
      failed(operation, k, err);
    }
  }

  /** Writes what changed (a failed write is retried at the next pass). */
  async function applyChanged(
    desired: ReadonlyMap<string, OpenReport>,
    now: Reflection<StoredOpenReport>,
    signal: AbortSignal,
  ): Promise<void> {
    for (const [k, r] of desired) {
      if (signal.aborted) return;
      const hash = r.metadata.annotations[ANNOTATION_CONTENT_HASH] ?? '';
      if (now.get(r.metadata.namespace, r.metadata.name)?.hash === hash) continue;
      await attempt('openreport-apply', k, () => o.store.applyOpenReport(r));
    }
  }

  async function deleteUnwanted(
    desired: ReadonlyMap<string, OpenReport>,
    now: Reflection<StoredOpenReport>,
    signal: AbortSignal,
  ): Promise<void> {
    for (const s of now.list()) {
      if (signal.aborted) return;
      const k = `${s.namespace}/${s.name}`;
      if (!desired.has(k)) await attempt('openreport-delete', k, () => o.store.removeOpenReport(s));
    }
  }

  return {
    watch(onChange, signal) {
      held = o.store.watchOpenReports(
        o.node,
        {
          onChange: () => {
            warned = false;
            onChange();
          },
          onRestart: (reason, err) => {
            if (err === null) log.debug({ reason }, 'watch of OpenReports restarted');
            else failed('openreport-list', '', err);
          },
        },
        signal,
      );
    },
    async sync(desired, complete, signal) {
      // Nothing is written before the first listing: what the API holds decides every write.
      if (!held?.synced) return;
      await applyChanged(desired, held, signal);
      if (complete) await deleteUnwanted(desired, held, signal);
    },
  };
}
