import { hostname } from 'node:os';
import {
  ACCEPT_FLAGS,
  CRI_FLAGS,
  HOST_PID_FLAG,
  acceptFlags,
  check,
  criFlags,
  enumFlag,
  hostPidFlag,
  noArguments,
  parseFlags,
  parsePodRef,
  str,
  type AcceptConfig,
  type Command,
  type CriSettings,
  type Env,
  type FlagDefs,
  type Parsed,
} from './flags.js';

export const OUTPUT_FORMATS = ['table', 'wide', 'json', 'yaml'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export interface ScanConfig extends CriSettings {
  readonly command: 'scan';
  readonly output: OutputFormat;
  readonly hostPid: number;
  readonly nodeName: string;
  readonly pod: { readonly namespace: string; readonly name: string } | null;
  readonly accept: AcceptConfig;
}

export const SCAN_FLAGS: FlagDefs = {
  output: {
    type: 'string',
    short: 'o',
    help: OUTPUT_FORMATS.join(' | '),
    default: 'table',
    env: true,
  },
  ...CRI_FLAGS,
  ...HOST_PID_FLAG,
  'node-name': {
    type: 'string',
    help: 'node name in reports; default: $NODE_NAME or hostname',
    env: true,
  },
  pod: { type: 'string', help: 'only this pod, as NAMESPACE/NAME', env: true },
  ...ACCEPT_FLAGS,
};

function podFlag(parsed: Parsed): ScanConfig['pod'] {
  const text = str(parsed.values.pod);
  if (text === undefined) return null;
  const pod = parsePodRef(text);
  if (pod === null) parsed.problems.push(`--pod: "${text}" is not NAMESPACE/NAME`);
  return pod;
}

function parseScan(argv: readonly string[], env: Env): ScanConfig {
  const parsed = parseFlags(argv, SCAN_FLAGS, env);
  noArguments('scan', parsed);
  const config: ScanConfig = {
    command: 'scan',
    output: enumFlag(parsed, 'output', OUTPUT_FORMATS) ?? 'table',
    hostPid: hostPidFlag(parsed),
    pod: podFlag(parsed),
    ...criFlags(parsed),
    nodeName: str(parsed.values['node-name']) ?? env.NODE_NAME ?? hostname(),
    accept: acceptFlags(parsed),
  };
  check(parsed);
  return config;
}

export const scan: Command<ScanConfig> = {
  name: 'scan',
  synopsis: 'scan [flags]',
  summary: 'one-shot scan of this machine (no cluster needed)',
  description:
    "One-shot scan of this machine: every pod container's host PID, namespaces, mounts and\nfindings (procfs only when no CRI runtime is found).",
  flags: SCAN_FLAGS,
  parse: parseScan,
};
