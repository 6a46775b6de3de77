import { parseArgs } from 'node:util';
import {
  type AcceptPolicy,
  parseAcceptRules,
  parseAnnotationNamespaces,
} from '../inspect/accept.js';
import { isDns1123Label, isDns1123Subdomain, quote } from '../inspect/names.js';

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
  /** A variable read when NSREPORT_* is unset (NODE_NAME, which the downward API sets). */
  readonly envFallback?: string;
  /** The values it takes, when they are a few words (shell completion offers them). */
  readonly values?: readonly string[];
  /** What completes its value: a file, a namespace of the cluster (else nothing). */
  readonly completes?: 'file' | 'namespace';
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
  /** Command lines shown under Examples in its help, one a line. */
  readonly examples: readonly string[];
  readonly flags: FlagDefs;
  readonly parse: (argv: readonly string[], env: Env) => C;
}

export type Values = Readonly<Record<string, string | boolean | undefined>>;

export interface Parsed {
  readonly values: Values;
  readonly positionals: readonly string[];
  /** Where each parser adds what is wrong. */
  readonly problems: string[];
  /** The environment variable each value read from the environment came from. */
  readonly sources: Readonly<Record<string, string>>;
}

export function envName(flag: string): string {
  return `NSREPORT_${flag.toUpperCase().replace(/-/g, '_')}`;
}

/** How a problem names a flag: `--resync`, or the environment variable its value came from. */
export function label(parsed: Parsed, flag: string): string {
  return parsed.sources[flag] ?? `--${flag}`;
}

/** A value for a message: quoted, one line however it was written. */
export { quote };

/** Edit distance, for "did you mean" (flag names are short: the quadratic table is nothing). */
function distance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++)
      next.push(
        Math.min(
          (row[j] ?? 0) + 1,
          (next[j - 1] ?? 0) + 1,
          (row[j - 1] ?? 0) + +(a[i - 1] !== b[j - 1]),
        ),
      );
    row = next;
  }
  return row[b.length] ?? 0;
}

function unknownFlag(arg: string, defs: FlagDefs): string {
  const name = arg.replace(/=.*$/s, '');
  const near = Object.keys(defs).find((k) => distance(name.replace(/^-+/, ''), k) <= 2);
  return `unknown flag ${quote(name)}${near ? ` (did you mean --${near}?)` : ''}`;
}

type OptionToken = Extract<
  NonNullable<ReturnType<typeof parseArgs>['tokens']>[number],
  { kind: 'option' }
>;

/**
 * A flag's value from its token: a string flag needs one (the next argument, unless that is
 * another flag: `-o --client` is a missing value, `--qps -1` a value); a boolean flag takes
 * none, or `=true` / `=false`. `-o=json` is `-o json`, as kubectl has it.
 */
function tokenValue(t: OptionToken, d: FlagDef, problems: string[]): string | boolean | undefined {
  const flag = `--${t.name}`;
  if (d.type === 'boolean') {
    if (t.value === undefined) return true;
    const b = booleanText(t.value);
    if (b === null) problems.push(`${flag}: ${quote(t.value)} is not true or false`);
    return b ?? undefined;
  }
  if (t.value === undefined) {
    problems.push(`${flag}: missing value`);
    return undefined;
  }
  if (!t.inlineValue && /^-(?![\d.])/.test(t.value)) {
    problems.push(
      `${flag}: missing value (${quote(t.value)} is a flag; write ${flag}=${t.value} if it is the value)`,
    );
    return undefined;
  }
  return t.inlineValue && !t.rawName.startsWith('--') ? t.value.replace(/^=/, '') : t.value;
}

function booleanText(s: string): boolean | null {
  return s === 'true' ? true : s === 'false' ? false : null;
}

/** The flags and positionals of argv, and every problem with them (never a throw). */
function readArgv(
  argv: readonly string[],
  defs: FlagDefs,
): { values: Record<string, string | boolean>; positionals: string[]; problems: string[] } {
  const { tokens } = parseArgs({
    args: [...argv],
    options: Object.fromEntries(
      Object.entries(defs).map(([k, d]) => [
        k,
        { type: d.type, ...(d.short ? { short: d.short } : {}) },
      ]),
    ),
    allowPositionals: true,
    strict: false,
    tokens: true,
  });
  const values: Record<string, string | boolean> = {};
  const positionals: string[] = [];
  const problems: string[] = [];
  const unknownAt = new Set<number>();
  for (const t of tokens) {
    if (t.kind === 'positional') positionals.push(t.value);
    if (t.kind !== 'option') continue;
    const d = defs[t.name];
    if (d === undefined) {
      // `-xyz` is one argument however many letters it has: said once.
      if (!unknownAt.has(t.index)) problems.push(unknownFlag(argv[t.index] ?? t.rawName, defs));
      unknownAt.add(t.index);
      continue;
    }
    const v = tokenValue(t, d, problems);
    if (v !== undefined) values[t.name] = v;
  }
  return { values, positionals, problems };
}

/**
 * Reads argv against the flags, then the environment, then the defaults, and collects every
 * problem on the way (unknown flags, missing values; the parsers add bad values): the caller
 * says them all at once. An empty environment variable counts as unset. With `command`, it takes
 * no arguments besides its flags (a problem otherwise).
 */
export function parseFlags(
  argv: readonly string[],
  defs: FlagDefs,
  env: Env,
  command?: string,
): Parsed {
  const { values, positionals, problems } = readArgv(argv, defs);
  const sources: Record<string, string> = {};
  for (const [k, d] of Object.entries(defs)) {
    if (values[k] === undefined) {
      const fromEnv = readEnv(k, d, env, problems);
      if (fromEnv !== null) {
        sources[k] = fromEnv.variable;
        values[k] = fromEnv.value;
      }
    }
    if (values[k] === undefined && d.default !== undefined) values[k] = d.default;
  }
  if (command !== undefined && positionals.length > 0)
    problems.push(`${command} takes no arguments (got ${quote(positionals.join(' '))})`);
  return { values, positionals, problems, sources };
}

/** A flag's value from its NSREPORT_* variable (or fallback), when set and not empty. */
function readEnv(
  flag: string,
  d: FlagDef,
  env: Env,
  problems: string[],
): { variable: string; value: string | boolean } | null {
  const variable = [d.env ? envName(flag) : '', d.envFallback ?? ''].find((v) => v && env[v]);
  const text = variable ? env[variable] : undefined;
  if (!variable || !text) return null;
  if (d.type === 'string') return { variable, value: text };
  const b = booleanText(text);
  if (b === null) problems.push(`${variable}: ${quote(text)} is not true or false`);
  return b === null ? null : { variable, value: b };
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

/** A string flag that, when given, must not be empty (a path, a context). */
export function nonEmptyFlag(parsed: Parsed, flag: string): string | null {
  const text = stringFlag(parsed, flag);
  if (text === '') parsed.problems.push(`${label(parsed, flag)}: must not be empty`);
  return text === '' ? null : text;
}

export function booleanFlag(parsed: Parsed, flag: string): boolean {
  return parsed.values[flag] === true;
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
    parsed.problems.push(
      `${label(parsed, flag)}: ${quote(text)} is not one of ${choices.join(', ')}`,
    );
    return null;
  }
  return text;
}

/**
 * The longest wait a Node.js timer holds: setTimeout takes a signed 32-bit count of milliseconds
 * and fires at once (after 1 ms) above it, so a longer resync or deadline would busy-loop or
 * time out at once.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;
const UNITS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

/** Parses a duration such as 500ms, 5s, 2m; null when malformed. */
export function parseDuration(s: string): number | null {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(s.trim());
  if (!m?.[1] || !m[2]) return null;
  const ms = Math.round(Number(m[1]) * UNITS[m[2] as keyof typeof UNITS]);
  return Number.isFinite(ms) ? ms : null;
}

/** What is wrong with a duration's text, or null. */
function durationProblem(text: string, minMs: number): string | null {
  const ms = parseDuration(text);
  const units = 'ms, s, m or h';
  if (ms === null) {
    const t = text.trim();
    if (/^\d+(\.\d+)?$/.test(t)) return `${quote(text)} has no unit (${units}; e.g. 30s)`;
    const unit = /^\d+(?:\.\d+)?(\D+)$/.exec(t)?.[1];
    if (unit !== undefined) return `${quote(text)}: unknown unit ${quote(unit)} (${units})`;
    return `${quote(text)} is not a positive duration (e.g. 500ms, 30s, 2m, 1h)`;
  }
  if (ms <= 0) return `${quote(text)} is not a positive duration (e.g. 500ms, 30s, 2m, 1h)`;
  if (ms < minMs) return `${quote(text)} is less than ${minMs}ms`;
  if (ms > MAX_TIMER_MS)
    return `${quote(text)} is longer than a timer can wait (at most 596h, 2^31-1 ms)`;
  return null;
}

/** A positive duration (at least `minMs`) that a timer can hold, in milliseconds. */
export function durationFlag(parsed: Parsed, flag: string, minMs = 1): number {
  const text = str(parsed.values[flag]) ?? '';
  const problem = durationProblem(text, minMs);
  if (problem !== null) parsed.problems.push(`${label(parsed, flag)}: ${problem}`);
  return problem === null ? (parseDuration(text) ?? 0) : 0;
}

/** The values a number flag takes. */
export interface NumberRange {
  readonly integer: boolean;
  readonly min: number;
  readonly max: number;
  /** What the number is, for the message ("a PID"). */
  readonly noun?: string;
}

/** A decimal number (no sign, no exponent) within the range. */
export function numberFlag(parsed: Parsed, flag: string, range: NumberRange): number {
  const text = str(parsed.values[flag]) ?? '';
  const n = /^\d+(\.\d+)?$/.test(text.trim()) ? Number(text) : NaN;
  const ok =
    Number.isFinite(n) &&
    n >= range.min &&
    n <= range.max &&
    (!range.integer || Number.isInteger(n));
  const kind = `${range.integer ? 'an integer' : 'a number'} from ${range.min} to ${range.max}`;
  if (!ok)
    parsed.problems.push(
      `${label(parsed, flag)}: ${quote(text)} is not ${range.noun ? `${range.noun} (${kind})` : kind}`,
    );
  return ok ? n : 0;
}

/** A path that must be absolute (a mount point, a directory). */
export function absolutePathFlag(parsed: Parsed, flag: string): string {
  const path = str(parsed.values[flag]) ?? '';
  if (!path.startsWith('/'))
    parsed.problems.push(`${label(parsed, flag)}: ${quote(path)} is not an absolute path`);
  return path;
}

/** What a name flag must be: a namespace (DNS-1123 label) or an object name (subdomain). */
export type NameKind = 'namespace' | 'object';

/** A Kubernetes name, when given; a problem when it is not one the API server would take. */
export function nameFlag(parsed: Parsed, flag: string, kind: NameKind): string | null {
  const text = stringFlag(parsed, flag);
  if (text === null) return null;
  const ok = kind === 'namespace' ? isDns1123Label(text) : isDns1123Subdomain(text);
  if (!ok)
    parsed.problems.push(
      kind === 'namespace'
        ? `${label(parsed, flag)}: ${quote(text)} is not a namespace name (DNS-1123 label: at most 63 of a-z, 0-9 and "-", a letter or digit at each end)`
        : `${label(parsed, flag)}: ${quote(text)} is not a Kubernetes name (DNS-1123 subdomain: at most 253 of a-z, 0-9, "-" and ".", a letter or digit at each end)`,
    );
  return ok ? text : null;
}

/** `NAMESPACE/NAME` of a pod (a namespace name and an object name), or null. */
export function parsePodRef(s: string): { namespace: string; name: string } | null {
  const [namespace = '', name = '', ...rest] = s.split('/');
  return rest.length === 0 && isDns1123Label(namespace) && isDns1123Subdomain(name)
    ? { namespace, name }
    : null;
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
    completes: 'file',
  },
  'cri-timeout': { type: 'string', help: 'deadline of each CRI call', default: '5s', env: true },
  'proc-root': {
    type: 'string',
    help: 'where the host procfs is mounted',
    default: '/proc',
    env: true,
    completes: 'file',
  },
};

export interface CriSettings {
  /** Explicit endpoint, or null to autodetect. */
  readonly criEndpoint: string | null;
  readonly criTimeoutMs: number;
  readonly procRoot: string;
}

/** A CRI endpoint as written: a socket path, or unix:// (or unix:) and one. */
function criEndpointFlag(parsed: Parsed): string | null {
  const endpoint = nonEmptyFlag(parsed, 'cri-endpoint');
  if (endpoint === null) return null;
  const path = endpoint.replace(/^unix:(\/\/)?/, '');
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(path)?.[1];
  if (scheme !== undefined)
    parsed.problems.push(
      `${label(parsed, 'cri-endpoint')}: ${quote(endpoint)}: CRI runtimes listen on a unix socket (a path or unix:///path), not ${scheme}://`,
    );
  else if (!path.startsWith('/'))
    parsed.problems.push(
      `${label(parsed, 'cri-endpoint')}: ${quote(endpoint)} is not an absolute socket path`,
    );
  return endpoint;
}

export function criFlags(parsed: Parsed): CriSettings {
  return {
    criEndpoint: criEndpointFlag(parsed),
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

/** PID_MAX_LIMIT on 64-bit Linux (include/linux/threads.h): no PID is above it. */
export const PID_MAX = 4_194_304;

/** The host reference's PID: a PID Linux can have. */
export function hostPidFlag(parsed: Parsed): number {
  return numberFlag(parsed, 'host-pid', { integer: true, min: 1, max: PID_MAX, noun: 'a PID' });
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
      ...rules.problems.map((p) => `${label(parsed, 'accept')}: ${p}`),
      ...ns.problems.map((p) => `${label(parsed, 'accept-annotations-in')}: ${p}`),
    ],
  };
}

/** The flags of the commands that read the cluster from a kubeconfig. */
export const KUBECONFIG_FLAGS: FlagDefs = {
  kubeconfig: {
    type: 'string',
    help: 'kubeconfig file; default: $KUBECONFIG, ~/.kube/config',
    env: true,
    completes: 'file',
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
  const examples = command.examples.map((e) => `  ${e}`).join('\n');
  return `Usage: nsreport ${command.synopsis}${alias}\n\n${command.description}\n\nExamples:\n${examples}\n\nFlags:\n${flagLines(command.flags)}\n`;
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
