import { parseArgs } from 'node:util';
import {
  type AcceptPolicy,
  parseAcceptRules,
  parseAnnotationNamespaces,
} from '../inspect/accept.js';

/**
 * The flag machinery every command shares: each flag has an NSREPORT_* environment equivalent
 * (the flag wins), problems are collected and reported together, and the caller exits 2.
 */

export type Env = Readonly<Record<string, string | undefined>>;

/** Bad command line or environment: every problem, one per line. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: readonly string[]) {
    super(problems.join('\n'));
  }
}

export interface FlagDef {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  readonly help: string;
  readonly default?: string;
  readonly env?: boolean;
}

export type FlagDefs = Readonly<Record<string, FlagDef>>;

/** One command: its flags, how to read them, and its help. */
export interface Command<C> {
  readonly name: string;
  /** What follows `nsreport` in the usage line. */
  readonly synopsis: string;
  /** Another name it answers to (a kubectl plugin). */
  readonly alias?: string;
  /** One line for the overview. */
  readonly summary: string;
  /** A paragraph for `nsreport COMMAND --help`. */
  readonly description: string;
  readonly flags: FlagDefs;
  readonly parse: (argv: readonly string[], env: Env) => C;
}

export type Values = Readonly<Record<string, string | boolean | undefined>>;

export interface Parsed {
  readonly values: Values;
  readonly positionals: readonly string[];
  /** Where each parser adds what is wrong. */
  readonly problems: string[];
}

export function envName(flag: string): string {
  return `NSREPORT_${flag.toUpperCase().replace(/-/g, '_')}`;
}

/**
 * Reads argv against the flags, then the environment, then the defaults. With `command`, it
 * takes no arguments besides its flags (a problem otherwise).
 */
export function parseFlags(
  argv: readonly string[],
  defs: FlagDefs,
  env: Env,
  command?: string,
): Parsed {
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
  const problems: string[] = [];
  if (command !== undefined && parsed.positionals.length > 0)
    problems.push(`${command} takes no arguments (got "${parsed.positionals.join(' ')}")`);
  return { values, positionals: parsed.positionals, problems };
}

/** The config read, unless problems were found on the way: then they are thrown, all of them. */
export function checked<C>(parsed: Parsed, config: C): C {
  if (parsed.problems.length > 0) throw new ConfigError(parsed.problems);
  return config;
}

export function str(v: string | boolean | undefined): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

export function stringFlag(parsed: Parsed, flag: string): string | null {
  return str(parsed.values[flag]) ?? null;
}

export function booleanFlag(parsed: Parsed, flag: string): boolean {
  const v = parsed.values[flag];
  return v === true || v === 'true';
}

/** One of `choices`, or null when unset; anything else is a problem. */
export function enumFlag<const T extends readonly string[]>(
  parsed: Parsed,
  flag: string,
  choices: T,
): T[number] | null {
  const text = str(parsed.values[flag]);
  if (text === undefined) return null;
  if (!choices.includes(text)) {
    parsed.problems.push(`--${flag}: "${text}" is not one of ${choices.join(', ')}`);
    return null;
  }
  return text;
}

/** Parses a duration such as 500ms, 5s, 2m; null when malformed. */
export function parseDuration(s: string): number | null {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(s.trim());
  if (!m?.[1] || !m[2]) return null;
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
  return Math.round(Number(m[1]) * unit);
}

export function durationFlag(parsed: Parsed, flag: string): number {
  const text = str(parsed.values[flag]) ?? '';
  const ms = parseDuration(text);
  if (ms === null || ms <= 0)
    parsed.problems.push(`--${flag}: "${text}" is not a positive duration (e.g. 30s, 2m)`);
  return ms ?? 0;
}

export function numberFlag(parsed: Parsed, flag: string, integer: boolean): number {
  const text = str(parsed.values[flag]) ?? '';
  const n = /^\d+(\.\d+)?$/.test(text) ? Number(text) : NaN;
  if (!(n > 0) || (integer && !Number.isInteger(n))) {
    parsed.problems.push(
      `--${flag}: "${text}" is not a positive ${integer ? 'integer' : 'number'}`,
    );
  }
  return n;
}

export function absolutePathFlag(parsed: Parsed, flag: string): string {
  const path = str(parsed.values[flag]) ?? '';
  if (!path.startsWith('/')) parsed.problems.push(`--${flag}: "${path}" must be an absolute path`);
  return path;
}

export function parsePodRef(s: string): { namespace: string; name: string } | null {
  const m = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/([a-z0-9]([-.a-z0-9]*[a-z0-9])?)$/.exec(s);
  return m?.[1] && m[3] ? { namespace: m[1], name: m[3] } : null;
}

export const HELP_FLAG: FlagDefs = {
  help: { type: 'boolean', short: 'h', help: 'show help' },
};

/** The flags of the commands that talk to the container runtime and read procfs. */
export const CRI_FLAGS: FlagDefs = {
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
};

export interface CriSettings {
  /** Explicit endpoint, or null to autodetect. */
  readonly criEndpoint: string | null;
  readonly criTimeoutMs: number;
  readonly procRoot: string;
}

export function criFlags(parsed: Parsed): CriSettings {
  const endpoint = str(parsed.values['cri-endpoint']);
  if (endpoint === '') parsed.problems.push('--cri-endpoint: must not be empty');
  return {
    criEndpoint: endpoint ?? null,
    criTimeoutMs: durationFlag(parsed, 'cri-timeout'),
    procRoot: absolutePathFlag(parsed, 'proc-root'),
  };
}

export const HOST_PID_FLAG: FlagDefs = {
  'host-pid': {
    type: 'string',
    help: 'PID of a process in the host namespaces (the host reference)',
    default: '1',
    env: true,
  },
};

export function hostPidFlag(parsed: Parsed): number {
  const text = str(parsed.values['host-pid']) ?? '';
  const pid = /^\d{1,10}$/.test(text) ? Number(text) : NaN;
  if (!(pid >= 1)) parsed.problems.push(`--host-pid: "${text}" is not a PID (a positive integer)`);
  return pid;
}

export const ACCEPT_FLAGS: FlagDefs = {
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

/**
 * Accepted findings: the policy, and problems with the values given (bad entries are dropped and
 * said once; the findings they meant stay unaccepted — never a reason to stop).
 */
export interface AcceptConfig {
  readonly policy: AcceptPolicy;
  readonly problems: readonly string[];
}

export function acceptFlags(parsed: Parsed): AcceptConfig {
  const rules = parseAcceptRules(str(parsed.values.accept) ?? '');
  const ns = parseAnnotationNamespaces(str(parsed.values['accept-annotations-in']) ?? '');
  return {
    policy: { rules: rules.rules, annotationNamespaces: ns.namespaces },
    problems: [
      ...rules.problems.map((p) => `--accept: ${p}`),
      ...ns.problems.map((p) => `--accept-annotations-in: ${p}`),
    ],
  };
}

/** The flags of the commands that read the cluster from a kubeconfig. */
export const KUBECONFIG_FLAGS: FlagDefs = {
  kubeconfig: {
    type: 'string',
    help: 'kubeconfig file; default: $KUBECONFIG, ~/.kube/config',
    env: true,
  },
  context: { type: 'string', help: 'kubeconfig context', env: true },
};

/** How a flag is written: `-o, --output VALUE`, `--client`. */
export function flagName(name: string, d: FlagDef): string {
  return `${d.short ? `-${d.short}, ` : ''}--${name}${d.type === 'string' ? ' VALUE' : ''}`;
}

/** The flags as help lines: `--name VALUE   help (default …; env …)`. */
export function flagLines(defs: FlagDefs): string {
  return Object.entries(defs)
    .map(([k, d]) => {
      const name = `${d.short ? '' : '    '}${flagName(k, d)}`;
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

/** `nsreport COMMAND --help`. */
export function usage(command: Command<unknown>): string {
  const alias = command.alias ? `   (also: ${command.alias})` : '';
  return `Usage: nsreport ${command.synopsis}${alias}\n\n${command.description}\n\nFlags:\n${flagLines(command.flags)}\n`;
}

/** The flags of the commands that scan this node: runtime, procfs, host reference, acceptance. */
export const NODE_SCAN_FLAGS: FlagDefs = { ...CRI_FLAGS, ...HOST_PID_FLAG, ...ACCEPT_FLAGS };

export interface NodeScanSettings extends CriSettings {
  readonly hostPid: number;
  readonly accept: AcceptConfig;
}

export function nodeScanFlags(parsed: Parsed): NodeScanSettings {
  return { ...criFlags(parsed), hostPid: hostPidFlag(parsed), accept: acceptFlags(parsed) };
}
