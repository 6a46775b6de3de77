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
  'log-level': { type: 'string', help: LOG_LEVELS.join(' | '), default: 'info', env: true },
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
  flags: AGENT_FLAGS,
  parse: parseAgent,
};

function listenFlag(parsed: flags.Parsed): AgentConfig['metricsAddr'] {
  const text = flags.str(parsed.values['metrics-addr']) ?? '';
  const addr = parseListenAddress(text);
  if (addr === null)
    parsed.problems.push(`--metrics-addr: "${text}" is not HOST:PORT (e.g. :9090)`);
  return addr ?? { host: undefined, port: 0 };
}

function nodeNameFlag(parsed: flags.Parsed, env: flags.Env): string {
  const nodeName = flags.str(parsed.values['node-name']) ?? env.NODE_NAME ?? '';
  if (nodeName === '')
    parsed.problems.push('--node-name: required (or set NODE_NAME, e.g. from the downward API)');
  return nodeName;
}

function parseAgent(argv: readonly string[], env: flags.Env): AgentConfig {
  const parsed = flags.parseFlags(argv, AGENT_FLAGS, env, 'agent');
  return flags.checked<AgentConfig>(parsed, {
    command: 'agent',
    kubeconfig: flags.str(parsed.values.kubeconfig) ?? env.KUBECONFIG ?? null,
    nodeName: nodeNameFlag(parsed, env),
    metricsAddr: listenFlag(parsed),
    logLevel: flags.enumFlag(parsed, 'log-level', LOG_LEVELS) ?? 'info',
    resyncMs: flags.durationFlag(parsed, 'resync'),
    networkMaxAgeMs: flags.durationFlag(parsed, 'network-max-age'),
    qps: flags.numberFlag(parsed, 'qps', false),
    burst: flags.numberFlag(parsed, 'burst', true),
    apiTimeoutMs: flags.durationFlag(parsed, 'api-timeout'),
    ...flags.nodeScanFlags(parsed),
    openReports: flags.booleanFlag(parsed, 'openreports'),
  });
}
