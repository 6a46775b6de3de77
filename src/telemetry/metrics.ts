import { unaccepted } from '../inspect/accept.js';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { PodInspection } from '../inspect/types.js';

/**
 * nsreport's metrics, on a registry of its own (never the global one). Labels are bounded:
 * states, propagation types, finding ids and severities, CRI methods and codes. Never pod or
 * container ids.
 */
export interface Metrics {
  readonly registry: Registry;
  readonly scanDuration: Histogram;
  readonly scans: Counter<'result'>;
  readonly criRequests: Counter<'method' | 'code'>;
  readonly reportWrites: Counter<'operation' | 'result'>;
  readonly reportRestores: Counter;
  readonly reportConflicts: Counter<'reason'>;
  readonly watchRestarts: Counter<'reason'>;
  readonly lastScan: Gauge;
  readonly hostReferenceReadable: Gauge;
  readonly criEventsAvailable: Gauge;
  /** Replaces the inventory gauges (pods, containers, mounts, findings) with this scan's. */
  observeInventory(pods: readonly PodInspection[]): void;
}

const PREFIX = 'nsreport_';
const NON_COUNTERS_NAMED_TOTAL = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

function countBy<T>(items: readonly T[], key: (t: T) => string): Map<string, number> {
  const m = new Map<string, number>();
  for (const i of items) {
    const k = key(i);
    m.set(k, (m.get(k) ?? 0) + 1);
  }
  return m;
}

// eslint-disable-next-line max-lines-per-function -- a factory: its closure is the module
export function createMetrics(): Metrics {
  const registry = new Registry();
  // The event-loop lag histogram samples on a timer of this period: prom-client's 10 ms woke the
  // idle agent 100 times a second, half its CPU at rest (~170 ms of ~340 per 30 s resync). 100 ms
  // still sees every scan's blocking (~200 ms at 100 pods).
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 100 });
  // prom-client names three gauges *_total, which promtool rejects (that suffix is for counters).
  for (const name of NON_COUNTERS_NAMED_TOTAL) registry.removeSingleMetric(name);
  const r = [registry];
  const pods = new Gauge({
    name: `${PREFIX}pods`,
    help: 'Pods on this node by observed host network sharing.',
    labelNames: ['host_network'],
    registers: r,
  });
  const containers = new Gauge({
    name: `${PREFIX}containers`,
    help: 'Containers on this node by state.',
    labelNames: ['state'],
    registers: r,
  });
  const mounts = new Gauge({
    name: `${PREFIX}mounts`,
    help: 'Declared mounts of containers on this node by observed propagation.',
    labelNames: ['propagation'],
    registers: r,
  });
  const findings = new Gauge({
    name: `${PREFIX}findings`,
    help: 'Findings on this node by id and severity (accepted findings excluded).',
    labelNames: ['id', 'severity'],
    registers: r,
  });
  const accepted = new Gauge({
    name: `${PREFIX}findings_accepted`,
    help: "Findings on this node accepted by the admin's policy, by id, severity and source.",
    labelNames: ['id', 'severity', 'source'],
    registers: r,
  });
  return {
    registry,
    scanDuration: new Histogram({
      name: `${PREFIX}scan_duration_seconds`,
      help: 'Duration of a node scan (CRI + procfs + inspection).',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: r,
    }),
    scans: new Counter({
      name: `${PREFIX}scans_total`,
      help: 'Node scans by result.',
      labelNames: ['result'],
      registers: r,
    }),
    criRequests: new Counter({
      name: `${PREFIX}cri_requests_total`,
      help: 'CRI requests by method and result code.',
      labelNames: ['method', 'code'],
      registers: r,
    }),
    reportWrites: new Counter({
      name: `${PREFIX}report_writes_total`,
      help: 'API writes by operation (apply, delete; openreport-list, -apply, -delete) and result (ok, error, denied: refused by an admission policy).',
      labelNames: ['operation', 'result'],
      registers: r,
    }),
    reportRestores: new Counter({
      name: `${PREFIX}report_restores_total`,
      help: 'Reports written again because someone else deleted or changed them.',
      registers: r,
    }),
    reportConflicts: new Counter({
      name: `${PREFIX}report_conflicts_total`,
      help: "Reports not written as they were: a precondition failed (precondition), another node's pod or a pod that is gone (other-node), another node's report of a previous pod of the name (previous-pod), or a report of a pod bound to this node that claims another node (held-by-other-node: forged or squatted).",
      labelNames: ['reason'],
      registers: r,
    }),
    watchRestarts: new Counter({
      name: `${PREFIX}report_watch_restarts_total`,
      help: "Restarts of the watch of this node's reports by reason (closed, expired, error).",
      labelNames: ['reason'],
      registers: r,
    }),
    lastScan: new Gauge({
      name: `${PREFIX}last_scan_timestamp_seconds`,
      help: 'Unix time of the last successful scan.',
      registers: r,
    }),
    hostReferenceReadable: new Gauge({
      name: `${PREFIX}host_reference_readable`,
      help: '1 when the host reference process (--host-pid) is readable; 0 makes host sharing unknown.',
      registers: r,
    }),
    criEventsAvailable: new Gauge({
      name: `${PREFIX}cri_events_available`,
      help: "1 while the runtime's CRI event stream works; 0 when it gives no events (the agent polls every resync).",
      registers: r,
    }),
    observeInventory(list: readonly PodInspection[]): void {
      pods.reset();
      containers.reset();
      mounts.reset();
      findings.reset();
      accepted.reset();
      for (const [v, n] of countBy(list, (p) => p.hostNamespaces.network))
        pods.set({ host_network: v }, n);
      const cs = list.flatMap((p) => p.containers);
      for (const [v, n] of countBy(cs, (c) => c.state)) containers.set({ state: v }, n);
      for (const [v, n] of countBy(
        cs.flatMap((c) => c.mounts),
        (m) => m.observedPropagation,
      ))
        mounts.set({ propagation: v }, n);
      const fs = list.flatMap((p) => p.findings);
      for (const [k, n] of countBy(unaccepted(fs), (f) => `${f.id}\u0000${f.severity}`)) {
        const [id = '', severity = ''] = k.split('\u0000');
        findings.set({ id, severity }, n);
      }
      for (const [k, n] of countBy(
        fs.filter((f) => f.accepted),
        (f) => `${f.id}\u0000${f.severity}\u0000${f.accepted?.source ?? ''}`,
      )) {
        const [id = '', severity = '', source = ''] = k.split('\u0000');
        accepted.set({ id, severity, source }, n);
      }
    },
  };
}
