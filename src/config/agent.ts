import type { LogLevel } from '../telemetry/log.js';
import { parseListenAddress } from '../telemetry/server.js';
import * as flags from './flags.js';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const satisfies readonly LogLevel[];

export interface AgentConfig extends flags.NodeScanSettings {
  readonly command: 'agent';
  /** Path, or null for the in-cluster service account. */
  readonly kubeconfig: string | null;
  readonly nodeName: string;
  readonly resyncMs: number;
  readonly networkMaxAgeMs: number;
  readonly qps: number;
  readonly burst: number;
  readonly apiTimeoutMs: number;
  readonly metricsAddr: { readonly host: string | undefined; readonly port: number };
  readonly logLevel: LogLevel;
  /** Also write OpenReports Reports. */
  readonly openReports: boolean;
}

export const AGENT_FLAGS: flags.FlagDefs = {
  ...flags.NODE_SCAN_FLAGS,
  kubeconfig: {
    type: 'string',
    help: 'kubeconfig file; default: $KUBECONFIG, else in-cluster',
    env: true,
  },
  'node-name': {
    type: 'string',
    help: 'this node (label of its reports); default: $NODE_NAME',
    env: true,
    envFallback: 'NODE_NAME',
  },
  resync: { type: 'string', help: 'full rescan period', default: '30s', env: true },
  'network-max-age': {
    type: 'string',
    help: 'reuse of an unchanged network namespace (listeners)',
    default: '2m',
    env: true,
  },
  qps: {
    type: 'string',
    help: 'API requests per second (client-side limit)',
    default: '5',
    env: true,
  },
  burst: { type: 'string', help: 'API request burst', default: '10', env: true },
  'api-timeout': {
    type: 'string',
    help: 'deadline of each API request',
    default: '10s',
    env: true,
  },
  'metrics-addr': {
    type: 'string',
    help: '/metrics, /healthz, /readyz listen address',
    default: ':9090',
    env: true,
  },
  'log-level': {
    type: 'string',
    help: LOG_LEVELS.join(' | '),
    values: LOG_LEVELS,
    default: 'info',
    env: true,
  },
  openreports: {
    type: 'boolean',
    help: 'also write findings as OpenReports Reports (openreports.io/v1alpha1)',
    env: true,
  },
  ...flags.HELP_FLAG,
};

export const agent: flags.Command<AgentConfig> = {
  name: 'agent',
  synopsis: 'agent [flags]',
  summary: 'the node agent: NamespaceReports, metrics, probes',
  description:
    'The DaemonSet process: scans this node on start, on CRI events and every --resync, and\nwrites one NamespaceReport per pod (server-side apply, only when its content changed).',
  examples: [
    'NODE_NAME=$(hostname) nsreport agent --resync 30s',
    "nsreport agent --metrics-addr :9901 --log-level debug   # as the chart's DaemonSet runs it",
  ],
  flags: AGENT_FLAGS,
  parse: parseAgent,
};

/** A host to listen on: an IP address or a DNS name (empty: every address). */
const LISTEN_HOST = /^([0-9a-fA-F:.]+|[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?)$/;

function listenFlag(parsed: flags.Parsed): AgentConfig['metricsAddr'] {
  const text = flags.str(parsed.values['metrics-addr']) ?? '';
  const addr = parseListenAddress(text);
  const ok =
    addr !== null && addr.port >= 1 && (addr.host === undefined || LISTEN_HOST.test(addr.host));
  if (!ok)
    parsed.problems.push(
      `${flags.label(parsed, 'metrics-addr')}: ${flags.quote(text)} is not HOST:PORT with a port from 1 to 65535 (e.g. :9090, 127.0.0.1:9090, [::1]:9090)`,
    );
  return ok ? addr : { host: undefined, port: 0 };
}

function nodeNameFlag(parsed: flags.Parsed): string {
  const nodeName = flags.nameFlag(parsed, 'node-name', 'object');
  if (flags.str(parsed.values['node-name']) === undefined)
    parsed.problems.push('--node-name: required (or set NODE_NAME, e.g. from the downward API)');
  return nodeName ?? '';
}

/** Client-side API rate limits: a token's wait must fit a timer, and no server takes more. */
const QPS = { integer: false, min: 0.001, max: 10_000 } as const;
const BURST = { integer: true, min: 1, max: 10_000 } as const;
/** A resync faster than this is a busy loop: a scan costs tens of milliseconds of CPU. */
const MIN_RESYNC_MS = 1000;

function parseAgent(argv: readonly string[], env: flags.Env): AgentConfig {
  const parsed = flags.parseFlags(argv, AGENT_FLAGS, env, 'agent');
  return flags.checked<AgentConfig>(parsed, {
    command: 'agent',
    kubeconfig: flags.nonEmptyFlag(parsed, 'kubeconfig') ?? (env.KUBECONFIG || null),
    nodeName: nodeNameFlag(parsed),
    metricsAddr: listenFlag(parsed),
    logLevel: flags.enumFlag(parsed, 'log-level', LOG_LEVELS) ?? 'info',
    resyncMs: flags.durationFlag(parsed, 'resync', MIN_RESYNC_MS),
    networkMaxAgeMs: flags.durationFlag(parsed, 'network-max-age'),
    qps: flags.numberFlag(parsed, 'qps', QPS),
    burst: flags.numberFlag(parsed, 'burst', BURST),
    apiTimeoutMs: flags.durationFlag(parsed, 'api-timeout'),
    ...flags.nodeScanFlags(parsed),
    openReports: flags.booleanFlag(parsed, 'openreports'),
  });
}
