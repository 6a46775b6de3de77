import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createCriClient } from '../cri/client.js';
import { detectEndpoint } from '../cri/endpoint.js';
import { CriError } from '../cri/errors.js';
import type { RuntimeClient } from '../cri/types.js';
import { collectHostView } from '../collect/hostview.js';
import { createScanner } from '../collect/scanner.js';
import { buildReport } from '../report/report.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from '../config/exit.js';
import type { NodeScanSettings } from '../config/flags.js';
import type { ScanConfig } from '../config/scan.js';
import type { PodInspection } from '../inspect/types.js';
import type { CliIO } from './io.js';
import { formatHostView, formatReports } from './output.js';

/** Where the runtime is: explicit, autodetected, or none (procfs-only view). */
export async function resolveEndpoint(
  criEndpoint: string | null,
): Promise<{ endpoint: string | null; explicit: boolean; tried: readonly string[] }> {
  if (criEndpoint !== null) return { endpoint: criEndpoint, explicit: true, tried: [] };
  const probe = await detectEndpoint();
  return probe.found
    ? { endpoint: probe.endpoint, explicit: false, tried: [] }
    : { endpoint: null, explicit: false, tried: probe.tried };
}

function hostViewOnly(config: ScanConfig, io: CliIO, why: string): number {
  io.stderr(`nsreport: ${why}; showing the namespaces procfs shows (no pod view)`);
  const view = collectHostView(config.procRoot, config.hostPid, config.nodeName);
  if (!view.hostReadable) {
    io.stderr(
      `nsreport: warning: host reference PID ${config.hostPid} is unreadable: HOST is unknown; pass --host-pid`,
    );
  }
  io.stdout(formatHostView(view, config.output));
  return EXIT_OK;
}

/** Every pod of the runtime, scanned now; what went wrong with some of them said on stderr. */
export async function scanPods(
  config: NodeScanSettings & { readonly nodeName: string },
  runtime: RuntimeClient,
  io: CliIO,
): Promise<PodInspection[]> {
  const scanner = createScanner({
    runtime,
    procRoot: config.procRoot,
    hostPid: config.hostPid,
    node: config.nodeName,
    networkMaxAgeMs: 0,
    accept: config.accept.policy,
  });
  for (const p of config.accept.problems) io.stderr(`nsreport: warning: ${p} (ignored)`);
  const result = await scanner.scan();
  for (const w of result.warnings) io.stderr(`nsreport: warning: ${w}`);
  return result.pods;
}

/** The pod's own warnings, on stderr. */
export function podWarnings(pods: readonly PodInspection[], io: CliIO): void {
  for (const p of pods)
    for (const w of p.warnings ?? [])
      io.stderr(`nsreport: warning: ${p.pod.namespace}/${p.pod.name}: ${w}`);
}

async function scanRuntime(config: ScanConfig, runtime: RuntimeClient, io: CliIO): Promise<number> {
  const all = await scanPods(config, runtime, io);
  const pods = config.pod
    ? all.filter((p) => p.pod.namespace === config.pod?.namespace && p.pod.name === config.pod.name)
    : all;
  if (config.pod && pods.length === 0) {
    io.stderr(`nsreport: pod ${config.pod.namespace}/${config.pod.name} not found on this node`);
    return EXIT_FAILURE;
  }
  podWarnings(pods, io);
  io.stdout(
    formatReports(
      pods.map((p) => buildReport(p, null)),
      config.output,
    ),
  );
  return EXIT_OK;
}

/** Whether --proc-root is a procfs mount; said on stderr when not. */
export function procRootOk(procRoot: string, io: CliIO): boolean {
  if (existsSync(join(procRoot, 'self', 'ns'))) return true;
  io.stderr(`nsreport: --proc-root: ${procRoot} is not a procfs mount (no self/ns in it)`);
  return false;
}

/** `nsreport scan`. */
export async function runScan(config: ScanConfig, io: CliIO): Promise<number> {
  if (!procRootOk(config.procRoot, io)) return EXIT_USAGE;
  const { endpoint, explicit, tried } = await resolveEndpoint(config.criEndpoint);
  if (endpoint === null)
    return hostViewOnly(config, io, `no CRI runtime socket found (tried ${tried.join(', ')})`);
  const runtime = createCriClient(endpoint, { timeoutMs: config.criTimeoutMs });
  try {
    return await scanRuntime(config, runtime, io);
  } catch (err) {
    if (!(err instanceof CriError)) throw err;
    // An autodetected socket we cannot use still leaves the procfs view; an explicit one is an error.
    if (!explicit && err.kind !== 'deadline') return hostViewOnly(config, io, err.message);
    io.stderr(`nsreport: ${err.message}`);
    return EXIT_FAILURE;
  } finally {
    runtime.close();
  }
}
