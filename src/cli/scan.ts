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
import type { ScanConfig } from '../config/scan.js';
import { formatHostView, formatReports } from './output.js';

/**
 * Where a command writes. stdout takes the command's output as its format made it (tables escape
 * their cells; json and yaml are exact). stderr takes one message line without its newline: the
 * writer escapes it whole (escape.ts), so a name or an error text from a container, the runtime
 * or the API stays on its one line, and ends it.
 */
export interface CliIO {
  readonly stdout: (s: string) => void;
  readonly stderr: (line: string) => void;
}

/** Where the runtime is: explicit, autodetected, or none (procfs-only view). */
async function resolveEndpoint(
  config: ScanConfig,
): Promise<{ endpoint: string | null; explicit: boolean; tried: readonly string[] }> {
  if (config.criEndpoint !== null)
    return { endpoint: config.criEndpoint, explicit: true, tried: [] };
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

async function scanRuntime(config: ScanConfig, runtime: RuntimeClient, io: CliIO): Promise<number> {
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
  const pods = config.pod
    ? result.pods.filter(
        (p) => p.pod.namespace === config.pod?.namespace && p.pod.name === config.pod.name,
      )
    : result.pods;
  if (config.pod && pods.length === 0) {
    io.stderr(`nsreport: pod ${config.pod.namespace}/${config.pod.name} not found on this node`);
    return EXIT_FAILURE;
  }
  for (const p of pods)
    for (const w of p.warnings ?? [])
      io.stderr(`nsreport: warning: ${p.pod.namespace}/${p.pod.name}: ${w}`);
  io.stdout(
    formatReports(
      pods.map((p) => buildReport(p, null)),
      config.output,
    ),
  );
  return EXIT_OK;
}

/** `nsreport scan`. */
export async function runScan(config: ScanConfig, io: CliIO): Promise<number> {
  if (!existsSync(join(config.procRoot, 'self', 'ns'))) {
    io.stderr(`nsreport: --proc-root: ${config.procRoot} is not a procfs mount (no self/ns in it)`);
    return EXIT_USAGE;
  }
  const { endpoint, explicit, tried } = await resolveEndpoint(config);
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
