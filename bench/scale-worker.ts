/**
 * One process of simulated agents for bench/scale.ts: each makes the agent's own requests with
 * the agent's own code (src/k8s/store.ts) and its own connection and pod-bound token: the list +
 * watch of its node's reports, a ping (the reports' group version) every resync while nothing is
 * written, and on
 * a pod change the claim read (GET of the report) and the server-side apply, or the delete.
 *
 *   forked by bench/scale.ts; told what to do over IPC (ScaleCommand), answers ScaleAnswer
 */
import { setMaxListeners } from 'node:events';
import { readFileSync } from 'node:fs';
import { makeAgent, type Connection } from '../src/k8s/connection.js';
import { createRateLimiter } from '../src/k8s/ratelimit.js';
import { createRestClient } from '../src/k8s/rest.js';
import { createReportStore, type ReportCache, type ReportStore } from '../src/k8s/store.js';
import type { NamespaceReport } from '../src/report/types.js';
import { simReport } from './objects.js';

export interface SimAgent {
  readonly node: string;
  readonly token: string;
  /** The agent pod on that node: the reports' owner (a Pod that exists, so no GC removes them). */
  readonly ownerUid: string;
}

export type ScaleCommand =
  | {
      type: 'start';
      server: string;
      caFile: string;
      agents: SimAgent[];
      template: NamespaceReport;
      namespaces: string[];
      resyncMs: number;
      qps: number;
      burst: number;
    }
  | { type: 'churn'; perSecond: number; seconds: number }
  | { type: 'stop' };

export type ScaleAnswer =
  | { type: 'synced'; ms: number[]; restarts: Record<string, number> }
  | { type: 'churned'; writes: number; failed: number; errors: string[]; latencyMs: number[] }
  | { type: 'stopped' };

interface Sim {
  readonly agent: SimAgent;
  readonly store: ReportStore;
  readonly cache: ReportCache;
  /** Report key → when its write was sent, until this agent's watch shows it. */
  readonly waiting: Map<string, { t0: number; gone: boolean }>;
  /** Reports this agent wrote and has not deleted. */
  readonly mine: string[];
  lastWrite: number;
}

const send = (a: ScaleAnswer): void => {
  process.send?.(a);
};
const abort = new AbortController();
// Every agent's watch listens to this one signal.
setMaxListeners(0, abort.signal);
const sims: Sim[] = [];
const latencies: number[] = [];
/** Watch restarts after an error, by the error's kind (the agent retries with backoff). */
const restarts: Record<string, number> = {};
let serial = 0;
/** What `start` was told: the report to write and where, for the pod changes. */
let started: Extract<ScaleCommand, { type: 'start' }> | null = null;

function connection(server: string, ca: Buffer, token: string): Connection {
  // The agent's own keep-alive agent (src/k8s/connection.ts), one per simulated agent.
  return {
    server,
    agent: makeAgent(new URL(server), { ca }),
    authorization: () => Promise.resolve(`Bearer ${token}`),
    refresh: () => undefined,
  };
}

function start(c: Extract<ScaleCommand, { type: 'start' }>): void {
  const ca = readFileSync(c.caFile);
  const t0 = performance.now();
  const syncedAt = new Map<number, number>();
  c.agents.forEach((agent) => {
    const rest = createRestClient(connection(c.server, ca, agent.token), {
      timeoutMs: 30_000,
      userAgent: 'nsreport',
    });
    const store = createReportStore(rest, {
      limiter: createRateLimiter({ qps: c.qps, burst: c.burst }),
    });
    const waiting = new Map<string, { t0: number; gone: boolean }>();
    const cache = store.watchNodeReports(
      agent.node,
      {
        onChange() {
          for (const [k, w] of waiting) {
            const [namespace = '', name = ''] = k.split('/');
            if ((cache.get(namespace, name) === undefined) === w.gone) {
              latencies.push(performance.now() - w.t0);
              waiting.delete(k);
            }
          }
        },
        onRestart(reason, err) {
          if (reason === 'error') {
            const kind = err?.kind ?? 'unknown';
            restarts[kind] = (restarts[kind] ?? 0) + 1;
          }
        },
      },
      abort.signal,
    );
    sims.push({ agent, store, cache, waiting, mine: [], lastWrite: 0 });
  });
  const poll = setInterval(() => {
    sims.forEach((s, i) => {
      if (s.cache.synced && !syncedAt.has(i)) syncedAt.set(i, performance.now() - t0);
    });
    if (syncedAt.size === sims.length) {
      clearInterval(poll);
      send({ type: 'synced', ms: [...syncedAt.values()], restarts });
      pings(c.resyncMs);
    }
  }, 50);
  started = c;
}

/** Each agent's cycle at rest: a ping every resync in which it wrote nothing, spread evenly. */
function pings(resyncMs: number): void {
  sims.forEach((s, i) => {
    const first = (resyncMs * i) / sims.length;
    setTimeout(() => {
      const t = setInterval(() => {
        if (abort.signal.aborted) clearInterval(t);
        else if (performance.now() - s.lastWrite >= resyncMs) s.store.ping().catch(() => undefined);
      }, resyncMs);
    }, first);
  });
}

/** One pod change on a random agent: a new pod's report, or the end of one it wrote. */
async function change(): Promise<void> {
  const c = started;
  const s = sims[Math.floor(Math.random() * sims.length)];
  if (!c || !s) return;
  s.lastWrite = performance.now();
  const seen = s.mine.filter((k) => !s.waiting.has(k));
  if (seen.length > 0 && Math.random() < 0.5) {
    const k = seen[Math.floor(Math.random() * seen.length)] ?? '';
    s.mine.splice(s.mine.indexOf(k), 1);
    const [namespace = '', name = ''] = k.split('/');
    const stored = s.cache.get(namespace, name) ?? (await s.store.get(namespace, name));
    if (!stored) throw new Error(`${k}: written, then not found`);
    s.waiting.set(k, { t0: performance.now(), gone: true });
    await s.store.remove(stored);
    return;
  }
  const namespace = c.namespaces[serial % c.namespaces.length] ?? 'default';
  const name = `sim-${process.pid}-${serial++}`;
  const k = `${namespace}/${name}`;
  // The agent's claim of a report its watch does not hold: the report as the API has it.
  await s.store.get(namespace, name);
  s.waiting.set(k, { t0: performance.now(), gone: false });
  await s.store.apply(simReport(c.template, s.agent, { namespace, name }), null);
  s.mine.push(k);
}

async function churn(perSecond: number, seconds: number): Promise<void> {
  latencies.length = 0;
  let writes = 0;
  let failed = 0;
  const errors = new Set<string>();
  const inFlight: Promise<void>[] = [];
  const gap = 1000 / perSecond;
  const t0 = performance.now();
  for (let n = 0; performance.now() - t0 < seconds * 1000; n++) {
    const due = t0 + n * gap;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    inFlight.push(
      change().then(
        () => {
          writes++;
        },
        (err: unknown) => {
          failed++;
          errors.add(err instanceof Error ? err.message.slice(0, 160) : String(err));
        },
      ),
    );
  }
  await Promise.all(inFlight);
  // The last events reach their watches; what never came is counted as lost by the caller.
  const end = performance.now() + 10_000;
  while (sims.some((s) => s.waiting.size > 0) && performance.now() < end)
    await new Promise((r) => setTimeout(r, 100));
  send({ type: 'churned', writes, failed, errors: [...errors].slice(0, 5), latencyMs: latencies });
}

process.on('message', (m: ScaleCommand) => {
  if (m.type === 'start') start(m);
  else if (m.type === 'churn') void churn(m.perSecond, m.seconds);
  else {
    abort.abort();
    send({ type: 'stopped' });
    setTimeout(() => process.exit(0), 200);
  }
});
