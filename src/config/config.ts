import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import {
  type AcceptPolicy,
  parseAcceptRules,
  parseAnnotationNamespaces,
} from '../inspect/accept.js';
import { parseListenAddress } from '../telemetry/server.js';

/**
 * The only reader of argv and the environment. Every flag has an NSREPORT_* environment
 * equivalent (flag wins). All problems are collected and reported together; the caller exits 2.
 */

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export type OutputFormat = 'table' | 'wide' | 'json' | 'yaml';

export interface ScanConfig {
  readonly command: 'scan';
  readonly output: OutputFormat;
  /** Explicit endpoint, or null to autodetect. */
  readonly criEndpoint: string | null;
  readonly criTimeoutMs: number;
  readonly procRoot: string;
  readonly hostPid: number;
  readonly nodeName: string;
  readonly pod: { readonly namespace: string; readonly name: string } | null;
  readonly accept: AcceptConfig;
}

/**
 * Accepted findings: the policy, and problems with the values given (bad entries are dropped and
 * said once; the findings they meant stay unaccepted — never a reason to stop).
 */
export interface AcceptConfig {
  readonly policy: AcceptPolicy;
  readonly problems: readonly string[];
}

export interface NetnsConfig {
  readonly command: 'netns-link' | 'netns-unlink';
  readonly pod: { readonly namespace: string; readonly name: string };
  readonly criEndpoint: string | null;
  readonly criTimeoutMs: number;
  readonly procRoot: string;
  readonly netnsDir: string;
}

export interface AgentConfig {
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
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error';
  readonly criEndpoint: string | null;
  readonly criTimeoutMs: number;
  readonly procRoot: string;
  readonly hostPid: number;
  readonly accept: AcceptConfig;
  /** Also write OpenReports Reports. */
  readonly openReports: boolean;
}

export interface AuditConfig {
  readonly command: 'audit';
  /** null: all namespaces. */
  readonly namespace: string | null;
  readonly kubeconfig: string | null;
  readonly context: string | null;
  readonly hostNetwork: boolean;
  readonly node: string | null;
  readonly minSeverity: 'low' | 'medium' | 'high' | 'critical' | null;
  readonly findings: readonly string[];
  /** Accepted findings shown and counted as findings again. */
  readonly includeAccepted: boolean;
  readonly output: 'table' | 'wide' | 'json' | 'csv';
  readonly failOn: 'low' | 'medium' | 'high' | 'critical' | null;
  readonly pageSize: number;
  readonly requestTimeoutMs: number;
}

export interface VersionConfig {
  readonly command: 'version';
  /** Only this program's version, no cluster call. */
  readonly client: boolean;
  readonly kubeconfig: string | null;
  readonly context: string | null;
  readonly requestTimeoutMs: number;
}

export type Config =
  | VersionConfig
  | AuditConfig
  | ScanConfig
  | NetnsConfig
  | AgentConfig
  | { readonly command: 'help'; readonly topic?: string };

/** Bad command line or environment: every problem, one per line. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: readonly string[]) {
    super(problems.join('\n'));
  }
}

type Env = Readonly<Record<string, string | undefined>>;

interface FlagDef {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  readonly help: string;
  readonly default?: string;
  readonly env?: boolean;
}

const COMMON: Record<string, FlagDef> = {
  'cri-endpoint': {
    type: 'string',
    help: 'CRI socket (unix path or unix:// URL); default: autodetect',
    env: true,
  },
  'cri-timeout': { type: 'string', help: 'deadline of each CRI call', default: '5s', env: true },
  'proc-root': {
    type: 'string',
    help: 'where the host procfs is mounted',
    default: '/proc',
    env: true,
  },
  help: { type: 'boolean', short: 'h', help: 'show help' },
};

const ACCEPT_FLAGS: Record<string, FlagDef> = {
  accept: {
    type: 'string',
    help: 'accepted findings: JSON list of {finding, namespace ("*" for all), selector?, reason}',
    env: true,
  },
  'accept-annotations-in': {
    type: 'string',
    help: 'namespaces whose pods may accept findings by annotation (nsreport.dev/accept), comma-separated, "*" for all; default none',
    env: true,
  },
};

export const SCAN_FLAGS: Record<string, FlagDef> = {
  output: {
    type: 'string',
    short: 'o',
    help: 'table | wide | json | yaml',
    default: 'table',
    env: true,
  },
  ...COMMON,
  'host-pid': {
    type: 'string',
    help: 'PID of a process in the host namespaces (the host reference)',
    default: '1',
    env: true,
  },
  'node-name': {
    type: 'string',
    help: 'node name in reports; default: $NODE_NAME or hostname',
    env: true,
  },
  pod: { type: 'string', help: 'only this pod, as NAMESPACE/NAME', env: true },
  ...ACCEPT_FLAGS,
};

export const NETNS_FLAGS: Record<string, FlagDef> = {
  ...COMMON,
  'netns-dir': {
    type: 'string',
    help: 'where ip-netns looks for names',
    default: '/var/run/netns',
    env: true,
  },
};

export const AGENT_FLAGS: Record<string, FlagDef> = {
  ...COMMON,
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
  'log-level': { type: 'string', help: 'debug | info | warn | error', default: 'info', env: true },
  'host-pid': SCAN_FLAGS['host-pid'] as FlagDef,
  ...ACCEPT_FLAGS,
  openreports: {
    type: 'boolean',
    help: 'also write findings as OpenReports Reports (openreports.io/v1alpha1)',
    env: true,
  },
};

export const AUDIT_FLAGS: Record<string, FlagDef> = {
  'all-namespaces': { type: 'boolean', short: 'A', help: 'every namespace (the default)' },
  namespace: { type: 'string', short: 'n', help: 'only this namespace', env: true },
  kubeconfig: {
    type: 'string',
    help: 'kubeconfig file; default: $KUBECONFIG, ~/.kube/config',
    env: true,
  },
  context: { type: 'string', help: 'kubeconfig context', env: true },
  'host-network': { type: 'boolean', help: 'only hostNetwork pods (label selector)' },
  node: { type: 'string', help: 'only this node (label selector)', env: true },
  'min-severity': {
    type: 'string',
    help: 'low | medium | high | critical (label selector)',
    env: true,
  },
  finding: {
    type: 'string',
    help: 'only pods with one of these finding ids, e.g. NSR001,NSR008',
    env: true,
  },
  'include-accepted': {
    type: 'boolean',
    help: 'show and count accepted findings as findings (also for --fail-on, --min-severity)',
  },
  output: {
    type: 'string',
    short: 'o',
    help: 'table (fits 120 columns) | wide | json | csv',
    default: 'table',
    env: true,
  },
  'fail-on': { type: 'string', help: 'exit 3 when a finding reaches this severity', env: true },
  'page-size': { type: 'string', help: 'reports per list request', default: '500', env: true },
  'request-timeout': {
    type: 'string',
    help: 'deadline of each API request',
    default: '30s',
    env: true,
  },
  help: { type: 'boolean', short: 'h', help: 'show help' },
};

export const VERSION_FLAGS: Record<string, FlagDef> = {
  client: { type: 'boolean', help: "only this program's version (no cluster call)" },
  kubeconfig: AUDIT_FLAGS.kubeconfig as FlagDef,
  context: AUDIT_FLAGS.context as FlagDef,
  'request-timeout': {
    type: 'string',
    help: 'deadline of the API request for the agents',
    default: '5s',
    env: true,
  },
  help: { type: 'boolean', short: 'h', help: 'show help' },
};

function versionConfig(argv: readonly string[], env: Env): VersionConfig {
  const { values, positionals } = parseFlags(argv, VERSION_FLAGS, env);
  const problems: string[] = [];
  if (positionals.length > 0)
    problems.push(`version takes no arguments (got "${positionals.join(' ')}")`);
  const config: VersionConfig = {
    command: 'version',
    client: values.client === true,
    kubeconfig: str(values.kubeconfig) ?? null,
    context: str(values.context) ?? null,
    requestTimeoutMs: durationFlag(values, 'request-timeout', problems),
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

const SEVERITIES = ['low', 'medium', 'high', 'critical'];

function severityFlag(
  values: Parsed['values'],
  flag: string,
  problems: string[],
): AuditConfig['failOn'] {
  const text = str(values[flag]);
  if (text === undefined) return null;
  if (!SEVERITIES.includes(text))
    problems.push(`--${flag}: "${text}" is not one of ${SEVERITIES.join(', ')}`);
  return text as AuditConfig['failOn'];
}

function findingsFlag(values: Parsed['values'], problems: string[]): string[] {
  const ids = (str(values.finding) ?? '')
    .split(',')
    .map((s) => s.trim().toUpperCase())
    .filter(Boolean);
  for (const id of ids)
    if (!/^NSR\d{3}$/.test(id)) problems.push(`--finding: "${id}" is not a finding id (NSR001…)`);
  return ids;
}

function auditConfig(argv: readonly string[], env: Env): AuditConfig {
  const { values, positionals } = parseFlags(argv, AUDIT_FLAGS, env);
  const problems: string[] = [];
  if (positionals.length > 0)
    problems.push(`audit takes no arguments (got "${positionals.join(' ')}")`);
  const namespace = str(values.namespace) ?? null;
  if (namespace !== null && values['all-namespaces'] === true)
    problems.push('-A and -n: choose one');
  const output = str(values.output) ?? 'table';
  if (!['table', 'wide', 'json', 'csv'].includes(output))
    problems.push(`--output: "${output}" is not one of table, wide, json, csv`);
  const config: AuditConfig = {
    command: 'audit',
    namespace,
    kubeconfig: str(values.kubeconfig) ?? null,
    context: str(values.context) ?? null,
    hostNetwork: values['host-network'] === true,
    node: str(values.node) ?? null,
    minSeverity: severityFlag(values, 'min-severity', problems),
    findings: findingsFlag(values, problems),
    includeAccepted: values['include-accepted'] === true,
    output: output as AuditConfig['output'],
    failOn: severityFlag(values, 'fail-on', problems),
    pageSize: numberFlag(values, 'page-size', problems, true),
    requestTimeoutMs: durationFlag(values, 'request-timeout', problems),
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

function envName(flag: string): string {
  return `NSREPORT_${flag.toUpperCase().replace(/-/g, '_')}`;
}

/** Parses a duration such as 500ms, 5s, 2m; null when malformed. */
export function parseDuration(s: string): number | null {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(s.trim());
  if (!m?.[1] || !m[2]) return null;
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
  return Math.round(Number(m[1]) * unit);
}

function parsePodRef(s: string): { namespace: string; name: string } | null {
  const m = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/([a-z0-9]([-.a-z0-9]*[a-z0-9])?)$/.exec(s);
  return m?.[1] && m[3] ? { namespace: m[1], name: m[3] } : null;
}

interface Parsed {
  readonly values: Record<string, string | boolean | undefined>;
  readonly positionals: string[];
}

function parseFlags(argv: readonly string[], defs: Record<string, FlagDef>, env: Env): Parsed {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: Object.fromEntries(
        Object.entries(defs).map(([k, d]) => [
          k,
          { type: d.type, ...(d.short ? { short: d.short } : {}) },
        ]),
      ),
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    throw new ConfigError([(err as Error).message.replace(/\. To specify a positional.*$/s, '')]);
  }
  const values: Record<string, string | boolean | undefined> = { ...parsed.values };
  for (const [k, d] of Object.entries(defs)) {
    if (values[k] === undefined && d.env) values[k] = env[envName(k)];
    if (values[k] === undefined && d.default !== undefined) values[k] = d.default;
  }
  return { values, positionals: parsed.positionals };
}

function str(v: string | boolean | undefined): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function common(
  values: Parsed['values'],
  problems: string[],
): { criEndpoint: string | null; criTimeoutMs: number; procRoot: string } {
  const timeout = parseDuration(str(values['cri-timeout']) ?? '');
  if (timeout === null || timeout <= 0) {
    problems.push(
      `--cri-timeout: "${String(values['cri-timeout'])}" is not a positive duration (e.g. 500ms, 5s)`,
    );
  }
  const procRoot = str(values['proc-root']) ?? '/proc';
  if (!procRoot.startsWith('/'))
    problems.push(`--proc-root: "${procRoot}" must be an absolute path`);
  const endpoint = str(values['cri-endpoint']);
  if (endpoint === '') problems.push('--cri-endpoint: must not be empty');
  return { criEndpoint: endpoint ?? null, criTimeoutMs: timeout ?? 0, procRoot };
}

function acceptFlags(values: Parsed['values']): AcceptConfig {
  const rules = parseAcceptRules(str(values.accept) ?? '');
  const ns = parseAnnotationNamespaces(str(values['accept-annotations-in']) ?? '');
  return {
    policy: { rules: rules.rules, annotationNamespaces: ns.namespaces },
    problems: [
      ...rules.problems.map((p) => `--accept: ${p}`),
      ...ns.problems.map((p) => `--accept-annotations-in: ${p}`),
    ],
  };
}

function pidFlag(text: string, problems: string[]): number {
  const pid = /^\d{1,10}$/.test(text) ? Number(text) : NaN;
  if (!(pid >= 1)) problems.push(`--host-pid: "${text}" is not a PID (a positive integer)`);
  return pid;
}

function podFlag(text: string | undefined, problems: string[]): ScanConfig['pod'] {
  if (text === undefined) return null;
  const pod = parsePodRef(text);
  if (pod === null) problems.push(`--pod: "${text}" is not NAMESPACE/NAME`);
  return pod;
}

function scanConfig(argv: readonly string[], env: Env): ScanConfig {
  const { values, positionals } = parseFlags(argv, SCAN_FLAGS, env);
  const problems: string[] = [];
  if (positionals.length > 0)
    problems.push(`scan takes no arguments (got "${positionals.join(' ')}")`);
  const output = str(values.output) ?? 'table';
  if (!['table', 'wide', 'json', 'yaml'].includes(output)) {
    problems.push(`--output: "${output}" is not one of table, wide, json, yaml`);
  }
  const hostPid = pidFlag(str(values['host-pid']) ?? '', problems);
  const pod = podFlag(str(values.pod), problems);
  const c = common(values, problems);
  if (problems.length > 0) throw new ConfigError(problems);
  const nodeName = str(values['node-name']) ?? env.NODE_NAME ?? hostname();
  return {
    command: 'scan',
    output: output as OutputFormat,
    ...c,
    hostPid,
    nodeName,
    pod,
    accept: acceptFlags(values),
  };
}

function netnsConfig(argv: readonly string[], env: Env): NetnsConfig {
  const { values, positionals } = parseFlags(argv, NETNS_FLAGS, env);
  const problems: string[] = [];
  const [verb = '', ref = '', ...rest] = positionals;
  if (verb !== 'link' && verb !== 'unlink') {
    problems.push(`netns: expected "link" or "unlink", got "${verb}"`);
  }
  const pod = parsePodRef(ref);
  if (pod === null) problems.push(`netns ${verb}: expected NAMESPACE/POD, got "${ref}"`);
  if (rest.length > 0) problems.push(`netns: unexpected arguments "${rest.join(' ')}"`);
  const netnsDir = str(values['netns-dir']) ?? '/var/run/netns';
  if (!netnsDir.startsWith('/'))
    problems.push(`--netns-dir: "${netnsDir}" must be an absolute path`);
  const c = common(values, problems);
  if (problems.length > 0 || pod === null) throw new ConfigError(problems);
  return { command: verb === 'link' ? 'netns-link' : 'netns-unlink', pod, ...c, netnsDir };
}

function durationFlag(values: Parsed['values'], flag: string, problems: string[]): number {
  const text = str(values[flag]) ?? '';
  const ms = parseDuration(text);
  if (ms === null || ms <= 0)
    problems.push(`--${flag}: "${text}" is not a positive duration (e.g. 30s, 2m)`);
  return ms ?? 0;
}

function numberFlag(
  values: Parsed['values'],
  flag: string,
  problems: string[],
  integer: boolean,
): number {
  const text = str(values[flag]) ?? '';
  const n = /^\d+(\.\d+)?$/.test(text) ? Number(text) : NaN;
  if (!(n > 0) || (integer && !Number.isInteger(n))) {
    problems.push(`--${flag}: "${text}" is not a positive ${integer ? 'integer' : 'number'}`);
  }
  return n;
}

function listenFlag(values: Parsed['values'], problems: string[]): AgentConfig['metricsAddr'] {
  const text = str(values['metrics-addr']) ?? '';
  const addr = parseListenAddress(text);
  if (addr === null) problems.push(`--metrics-addr: "${text}" is not HOST:PORT (e.g. :9090)`);
  return addr ?? { host: undefined, port: 0 };
}

function logLevelFlag(values: Parsed['values'], problems: string[]): AgentConfig['logLevel'] {
  const level = str(values['log-level']) ?? '';
  if (!['debug', 'info', 'warn', 'error'].includes(level)) {
    problems.push(`--log-level: "${level}" is not one of debug, info, warn, error`);
  }
  return level as AgentConfig['logLevel'];
}

function agentConfig(argv: readonly string[], env: Env): AgentConfig {
  const { values, positionals } = parseFlags(argv, AGENT_FLAGS, env);
  const problems: string[] = [];
  if (positionals.length > 0)
    problems.push(`agent takes no arguments (got "${positionals.join(' ')}")`);
  const nodeName = str(values['node-name']) ?? env.NODE_NAME ?? '';
  if (nodeName === '')
    problems.push('--node-name: required (or set NODE_NAME, e.g. from the downward API)');
  const metricsAddr = listenFlag(values, problems);
  const logLevel = logLevelFlag(values, problems);
  const config = {
    command: 'agent' as const,
    kubeconfig: str(values.kubeconfig) ?? env.KUBECONFIG ?? null,
    nodeName,
    resyncMs: durationFlag(values, 'resync', problems),
    networkMaxAgeMs: durationFlag(values, 'network-max-age', problems),
    qps: numberFlag(values, 'qps', problems, false),
    burst: numberFlag(values, 'burst', problems, true),
    apiTimeoutMs: durationFlag(values, 'api-timeout', problems),
    metricsAddr,
    logLevel,
    hostPid: pidFlag(str(values['host-pid']) ?? '', problems),
    ...common(values, problems),
    accept: acceptFlags(values),
    openReports: values.openreports === true || values.openreports === 'true',
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

const COMMANDS: Record<string, (argv: readonly string[], env: Env) => Config> = {
  scan: scanConfig,
  netns: netnsConfig,
  agent: agentConfig,
  audit: auditConfig,
  version: versionConfig,
};

/** Parses the command line (without node and script) and environment into a Config. */
export function parseConfig(argv: readonly string[], env: Env): Config {
  const [command, ...rest] = argv;
  if (rest.includes('-h') || rest.includes('--help')) return { command: 'help', topic: command };
  if (command === undefined || command === 'help' || command === '-h' || command === '--help') {
    return { command: 'help', topic: rest[0] };
  }
  if (command === '--version') return versionConfig(['--client'], env);
  const parse = COMMANDS[command];
  if (!parse) throw new ConfigError([`unknown command "${command}" (try: nsreport help)`]);
  return parse(rest, env);
}

function flagLines(defs: Record<string, FlagDef>): string {
  return Object.entries(defs)
    .map(([k, d]) => {
      const name = `${d.short ? `-${d.short}, ` : '    '}--${k}${d.type === 'string' ? ' VALUE' : ''}`;
      const extra = [
        d.default !== undefined ? `default ${d.default}` : '',
        d.env ? `env ${envName(k)}` : '',
      ]
        .filter(Boolean)
        .join('; ');
      return `  ${name.padEnd(28)} ${d.help}${extra ? ` (${extra})` : ''}`;
    })
    .join('\n');
}

/** Help text for a topic (scan, netns) or the overview. */
export function helpText(topic?: string): string {
  if (topic === 'scan') {
    return `Usage: nsreport scan [flags]\n\nOne-shot scan of this machine: every pod container's host PID, namespaces, mounts and\nfindings (procfs only when no CRI runtime is found).\n\nFlags:\n${flagLines(SCAN_FLAGS)}\n`;
  }
  if (topic === 'audit') {
    return `Usage: nsreport audit [flags]   (also: kubectl nsreport audit)\n\nCluster-wide view from the NamespaceReports: hostNetwork pods per node with their host\nlisteners, sensitive mounts, propagation and findings, plus coverage (nodes and hostNetwork\npods without reports). Exit codes: 0 ok, 1 API error, 2 bad usage, 3 --fail-on reached.\n\nFlags:\n${flagLines(AUDIT_FLAGS)}\n`;
  }
  if (topic === 'agent') {
    return `Usage: nsreport agent [flags]\n\nThe DaemonSet process: scans this node on start, on CRI events and every --resync, and\nwrites one NamespaceReport per pod (server-side apply, only when its content changed).\n\nFlags:\n${flagLines(AGENT_FLAGS)}\n`;
  }
  if (topic === 'version') {
    return `Usage: nsreport version [flags]   (also: kubectl nsreport version)\n\nThis program's version, then the agents' (the nsreport DaemonSets of the cluster in the\nkubeconfig, when it can be read).\n\nFlags:\n${flagLines(VERSION_FLAGS)}\n`;
  }
  if (topic === 'netns') {
    return `Usage: nsreport netns link|unlink NAMESPACE/POD [flags]\n\nlink makes the pod's network namespace a name for ip-netns: /var/run/netns/NAMESPACE_POD.\n\nFlags:\n${flagLines(NETNS_FLAGS)}\n`;
  }
  return `Usage: nsreport COMMAND [flags]\n\nCommands:\n  scan                       one-shot scan of this machine (no cluster needed)\n  agent                      the node agent: NamespaceReports, metrics, probes\n  audit                      cluster-wide audit of the NamespaceReports\n  netns link NS/POD          name the pod's network namespace for ip netns exec\n  netns unlink NS/POD        remove that name\n  version                    this program's version and the cluster's agents'\n\nRun "nsreport COMMAND --help" for its flags. Exit codes: 0 ok, 1 failure, 2 bad usage.\n`;
}
