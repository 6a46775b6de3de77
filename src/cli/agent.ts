import { createAgent } from '../agent/agent.js';
import { createOpenReportsSync } from '../agent/openreports.js';
import { createPodImages } from '../agent/images.js';
import { createScanner } from '../collect/scanner.js';
import type { AgentConfig } from '../config/agent.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from '../config/exit.js';
import { createCriClient } from '../cri/client.js';
import { detectEndpoint } from '../cri/endpoint.js';
import { connect } from '../k8s/connection.js';
import { createRateLimiter } from '../k8s/ratelimit.js';
import { createRestClient } from '../k8s/rest.js';
import { createReportStore } from '../k8s/store.js';
import { createLogger } from '../telemetry/log.js';
import { createMetrics } from '../telemetry/metrics.js';
import { startServer } from '../telemetry/server.js';

/** Time SIGTERM may take: in-flight writes finish, then the process exits 0. */
const SHUTDOWN_DEADLINE_MS = 9000;

/** `nsreport agent`: wires the adapters to the loop and runs until SIGTERM/SIGINT. */
export async function runAgent(config: AgentConfig): Promise<number> {
  const log = createLogger(config.logLevel);
  for (const problem of config.accept.problems)
    log.warn({ problem }, 'acceptance setting ignored; the findings it meant stay unaccepted');
  const metrics = createMetrics();
  const endpoint =
    config.criEndpoint ?? (await detectEndpoint().then((p) => (p.found ? p.endpoint : null)));
  if (endpoint === null) {
    log.error('no CRI runtime socket found; pass --cri-endpoint');
    return EXIT_FAILURE;
  }
  let store;
  try {
    const conn = await connect({ kubeconfig: config.kubeconfig, timeoutMs: config.apiTimeoutMs });
    store = createReportStore(
      createRestClient(conn, { timeoutMs: config.apiTimeoutMs, userAgent: 'nsreport' }),
      { limiter: createRateLimiter({ qps: config.qps, burst: config.burst }) },
    );
  } catch (err) {
    log.error(
      { err: err instanceof Error ? err.message : String(err) },
      'no Kubernetes credentials: pass --kubeconfig, or run in a pod with a service account',
    );
    return EXIT_USAGE;
  }
  const runtime = createCriClient(endpoint, {
    timeoutMs: config.criTimeoutMs,
    observe: (method, code) => {
      metrics.criRequests.inc({ method, code });
    },
  });
  const scanner = createScanner({
    runtime,
    procRoot: config.procRoot,
    hostPid: config.hostPid,
    node: config.nodeName,
    networkMaxAgeMs: config.networkMaxAgeMs,
    accept: config.accept.policy,
  });
  const openReports = config.openReports
    ? createOpenReportsSync({ store, node: config.nodeName, log, metrics })
    : undefined;
  const agent = createAgent({
    scanner,
    runtime,
    store,
    node: config.nodeName,
    resyncMs: config.resyncMs,
    log,
    metrics,
    images: createPodImages({ store, log }),
    ...(openReports ? { openReports } : {}),
  });
  let server;
  try {
    server = await startServer(config.metricsAddr, metrics.registry, agent.probes);
  } catch (err) {
    log.error(
      { err: err instanceof Error ? err.message : String(err) },
      'cannot listen on --metrics-addr',
    );
    runtime.close();
    return EXIT_FAILURE;
  }
  const controller = new AbortController();
  const stop = (sig: string): void => {
    if (controller.signal.aborted) return;
    log.info({ signal: sig }, 'stopping: finishing in-flight writes');
    controller.abort();
    setTimeout(() => process.exit(EXIT_OK), SHUTDOWN_DEADLINE_MS).unref();
  };
  process.on('SIGTERM', () => {
    stop('SIGTERM');
  });
  process.on('SIGINT', () => {
    stop('SIGINT');
  });
  log.info(
    { node: config.nodeName, endpoint, resyncMs: config.resyncMs, metrics: config.metricsAddr },
    'agent started',
  );
  await agent.run(controller.signal);
  await new Promise<void>((resolve) =>
    server.close(() => {
      resolve();
    }),
  );
  runtime.close();
  log.info('agent stopped');
  return EXIT_OK;
}
