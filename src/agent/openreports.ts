import { toApiError } from '../k8s/errors.js';
import type { ReportStore, StoredOpenReport } from '../k8s/store.js';
import type { OpenReport } from '../report/openreport.js';
import { ANNOTATION_CONTENT_HASH } from '../report/types.js';
import type { Logger } from '../telemetry/log.js';
import type { Metrics } from '../telemetry/metrics.js';

/**
 * Keeps this node's OpenReports Reports as the last scan wants them: written when their content
 * changed (by hash), deleted when their pod has no finding that counts any more or is gone (after
 * a complete scan only, and only the object seen). What the API holds is listed at start and
 * again every `relistMs`, so a Report deleted by someone comes back within that time. A Report's
 * Pod owns it: the garbage collector removes it with the pod. Failures are logged and counted,
 * never fatal: this is an extra output beside the NamespaceReports.
 */
export interface OpenReportsSync {
  sync(
    desired: ReadonlyMap<string, OpenReport>,
    complete: boolean,
    signal: AbortSignal,
  ): Promise<void>;
}

export function createOpenReportsSync(o: {
  readonly store: ReportStore;
  readonly node: string;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly relistMs?: number;
  readonly now?: () => number;
}): OpenReportsSync {
  const now = o.now ?? Date.now;
  const relistMs = o.relistMs ?? 300_000;
  const log = o.log.child({ module: 'openreports' });
  let known: Map<string, StoredOpenReport> | null = null;
  let listedAt = 0;
  let warned = false;

  function failed(operation: string, what: string, err: unknown): void {
    const e = toApiError(err);
    o.metrics.reportWrites.inc({ operation, result: 'error' });
    // The CRD missing is said once: the agent keeps retrying quietly until it is installed.
    if (e.kind === 'crd-missing' || e.kind === 'not-found') {
      if (!warned)
        log.warn({ err: e.message }, 'OpenReports CRD (reports.openreports.io) not installed');
      warned = true;
      known = null;
      return;
    }
    log.warn(
      { report: what, operation, kind: e.kind, err: e.message },
      'OpenReports write failed; will retry',
    );
  }

  async function list(): Promise<Map<string, StoredOpenReport> | null> {
    try {
      const items = await o.store.listOpenReports(o.node);
      warned = false;
      listedAt = now();
      return new Map(items.map((r) => [`${r.namespace}/${r.name}`, r]));
    } catch (err) {
      failed('openreport-list', '', err);
      return null;
    }
  }

  /** One write; false when it failed (and, for a missing CRD, the listing was dropped). */
  async function attempt(operation: string, k: string, fn: () => Promise<void>): Promise<boolean> {
    try {
      await fn();
      o.metrics.reportWrites.inc({ operation, result: 'ok' });
      return true;
    } catch (err) {
      failed(operation, k, err);
      return false;
    }
  }

  async function applyChanged(
    desired: ReadonlyMap<string, OpenReport>,
    held: Map<string, StoredOpenReport>,
    signal: AbortSignal,
  ): Promise<boolean> {
    for (const [k, r] of desired) {
      if (signal.aborted || known === null) return false;
      const hash = r.metadata.annotations[ANNOTATION_CONTENT_HASH] ?? '';
      if (held.get(k)?.hash === hash) continue;
      const { namespace, name } = r.metadata;
      if (await attempt('openreport-apply', k, () => o.store.applyOpenReport(r)))
        held.set(k, { namespace, name, uid: '', resourceVersion: '', hash });
    }
    return known !== null;
  }

  async function deleteUnwanted(
    desired: ReadonlyMap<string, OpenReport>,
    held: Map<string, StoredOpenReport>,
    signal: AbortSignal,
  ): Promise<void> {
    for (const [k, s] of [...held]) {
      if (signal.aborted || known === null) return;
      if (desired.has(k)) continue;
      if (await attempt('openreport-delete', k, () => o.store.removeOpenReport(s))) held.delete(k);
    }
  }

  return {
    async sync(desired, complete, signal) {
      if (known === null || now() - listedAt >= relistMs) known = await list();
      const held = known;
      if (held === null) return;
      if ((await applyChanged(desired, held, signal)) && complete)
        await deleteUnwanted(desired, held, signal);
    },
  };
}
