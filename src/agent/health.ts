import { toApiError, type ApiError } from '../k8s/errors.js';
import type { Probe, Probes } from '../telemetry/server.js';

/**
 * What the agent's probes say, from what its loop records: the kubelet restarts an agent whose
 * loop stopped or whose runtime stayed unreachable (/healthz), and routes nothing to one that
 * cannot scan or write yet (/readyz). The decisions are the pure `liveness` and `readiness`.
 */
export interface HealthState {
  /** A scan has listed the runtime at least once. */
  readonly firstScanDone: boolean;
  /** The latest scan listed the runtime. */
  readonly runtimeOk: boolean;
  /** Since when the runtime has failed (the start counts as failing), or null. */
  readonly runtimeFailingSince: number | null;
  /** The latest API call answered (a refusal of this agent's own counts as not). */
  readonly apiOk: boolean;
  /** The loop's latest pass. */
  readonly lastProgress: number;
  /** This node's reports are listed (the watch's cache is synced). */
  readonly reportsListed: boolean;
}

export interface HealthLimits {
  /** No pass for this long: the loop is stuck. */
  readonly idleMs: number;
  /** The runtime unreachable for this long: a restart may help (a new socket, a new runtime). */
  readonly runtimeDeadlineMs: number;
}

export function liveness(s: HealthState, now: number, limits: HealthLimits): Probe {
  const idle = now - s.lastProgress;
  if (idle >= limits.idleMs)
    return { ok: false, reason: `no progress for ${Math.round(idle / 1000)}s` };
  const down = s.runtimeFailingSince === null ? 0 : now - s.runtimeFailingSince;
  if (down >= limits.runtimeDeadlineMs)
    return { ok: false, reason: `container runtime unreachable for ${Math.round(down / 1000)}s` };
  return { ok: true, reason: 'loop running' };
}

export function readiness(s: HealthState): Probe {
  if (!s.firstScanDone) return { ok: false, reason: 'first scan not done' };
  if (!s.runtimeOk) return { ok: false, reason: 'container runtime unreachable' };
  if (!s.reportsListed) return { ok: false, reason: 'reports of this node not listed yet' };
  if (!s.apiOk) return { ok: false, reason: 'Kubernetes API unreachable' };
  return { ok: true, reason: 'scanning and writing' };
}

/** Whether an API outcome says the API cannot take this agent's writes now. */
function apiDown(e: ApiError): boolean {
  return (
    e.retryable || e.kind === 'unauthorized' || e.kind === 'forbidden' || e.kind === 'crd-missing'
  );
}

export interface Health {
  /** Records an API call's outcome (null: it answered); the error as an ApiError. */
  api(err: unknown): ApiError | null;
  /** Records a scan's outcome: whether the runtime was listed. */
  runtime(listed: boolean): void;
  /** Records a pass of the loop. */
  progress(): void;
  readonly probes: Probes;
}

export function createHealth(o: {
  readonly now: () => number;
  readonly limits: HealthLimits;
  readonly reportsListed: () => boolean;
}): Health {
  let firstScanDone = false;
  let runtimeOk = false;
  let runtimeFailingSince: number | null = o.now();
  let apiOk = false;
  let lastProgress = o.now();
  const state = (): HealthState => ({
    firstScanDone,
    runtimeOk,
    runtimeFailingSince,
    apiOk,
    lastProgress,
    reportsListed: o.reportsListed(),
  });
  return {
    api(err) {
      if (err === null) {
        apiOk = true;
        return null;
      }
      const e = toApiError(err);
      if (apiDown(e)) apiOk = false;
      return e;
    },
    runtime(listed) {
      runtimeOk = listed;
      if (listed) {
        firstScanDone = true;
        runtimeFailingSince = null;
      } else runtimeFailingSince ??= o.now();
    },
    progress() {
      lastProgress = o.now();
    },
    probes: {
      healthy: () => liveness(state(), o.now(), o.limits),
      ready: () => readiness(state()),
    },
  };
}
