import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createAgent } from '../agent/agent.js';
import { createOpenReportsSync } from '../agent/openreports.js';
import { createPodImages } from '../agent/images.js';
import { createScanner } from '../collect/scanner.js';
import type { AgentConfig } from '../config/agent.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from '../config/exit.js';
import { createCriClient } from '../cri/client.js';
import { detectEndpoint } from '../cri/endpoint.js';
import { connect, firstLine } from '../k8s/connection.js';
import { createRateLimiter } from '../k8s/ratelimit.js';
import { createRestClient } from '../k8s/rest.js';
import { createReportStore, type ReportStore } from '../k8s/store.js';
import { createLogger } from '../telemetry/log.js';
import { createMetrics } from '../telemetry/metrics.js';
import { startServer } from '../telemetry/server.js';
import type { CliIO } from './io.js';

/** Time SIGTERM may take: in-flight writes finish, then the process exits 0. */
const SHUTDOWN_DEADLINE_MS = 9000;

/**
 * What the agent needs before its loop: a procfs, a runtime socket, credentials. A start-up
 * failure is one line on stderr like every command's (exit 2 for a bad setting, 1 otherwise);
 * once running, everything is a JSON log line on stdout.
 */
async function start(
  config: AgentConfig,
  io: CliIO,
): Promise<{ endpoint: string; store: ReportStore } | number> {
  if (!existsSync(join(config.procRoot, 'self', 'ns'))) {
    io.stderr(`nsreport: --proc-root: ${config.procRoot} is not a procfs mount (no self/ns in it)`);
    return EXIT_USAGE;
  }
  const probe = config.criEndpoint === null ? await detectEndpoint() : null;
  const endpoint = config.criEndpoint ?? (probe?.found ? probe.endpoint : null);
  if (endpoint === null) {
    const tried = probe && !probe.found ? ` (tried ${probe.tried.join(', ')})` : '';
    io.stderr(`nsreport: no CRI runtime socket found${tried}; pass --cri-endpoint`);
    return EXIT_FAILURE;
  }
  try {
    const conn = await connect({ kubeconfig: config.kubeconfig, timeoutMs: config.apiTimeoutMs });
    const store = createReportStore(
      createRestClient(conn, { timeoutMs: config.apiTimeoutMs, userAgent: 'nsreport' }),
      { limiter: createRateLimiter({ qps: config.qps, burst: config.burst }) },
    );
    return { endpoint, store };
  } catch (err) {
    const hint =
      config.kubeconfig === null
        ? ': pass --kubeconfig, or run in a pod with a service account'
        : '';
    io.stderr(`nsreport: no Kubernetes credentials (${firstLine(err)})${hint}`);
    return EXIT_USAGE;
  }
}

/** `nsreport agent`: wires the adapters to the loop and runs until SIGTERM/SIGINT. */
export async function runAgent(config: AgentConfig, io: CliIO): Promise<number> {
  const started = await start(config, io);
  if (typeof started === 'number') return started;
  const { endpoint, store } = started;
  const log = createLogger(config.logLevel);
  for (const problem of config.accept.problems)
    log.warn({ problem }, 'acceptance setting ignored; the findings it meant stay unaccepted');
  const metrics = createMetrics();
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
    io.stderr(`nsreport: --metrics-addr: cannot listen (${firstLine(err)})`);
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
