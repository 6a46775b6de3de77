import { hostname } from 'node:os';
import * as flags from './flags.js';

export const OUTPUT_FORMATS = ['table', 'wide', 'json', 'yaml'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export interface ScanConfig extends flags.NodeScanSettings {
  readonly command: 'scan';
  readonly output: OutputFormat;
  readonly nodeName: string;
  readonly pod: { readonly namespace: string; readonly name: string } | null;
}

export const SCAN_FLAGS: flags.FlagDefs = {
  output: {
    type: 'string',
    short: 'o',
    help: OUTPUT_FORMATS.join(' | '),
    values: OUTPUT_FORMATS,
    default: 'table',
    env: true,
  },
  ...flags.NODE_SCAN_FLAGS,
  'node-name': {
    type: 'string',
    help: 'node name in reports; default: $NODE_NAME or hostname',
    env: true,
    envFallback: 'NODE_NAME',
  },
  pod: { type: 'string', help: 'only this pod, as NAMESPACE/NAME', env: true },
  ...flags.HELP_FLAG,
};

export const scan: flags.Command<ScanConfig> = {
  name: 'scan',
  synopsis: 'scan [flags]',
  summary: 'one-shot scan of this machine (no cluster needed)',
  description:
    "One-shot scan of this machine: every pod container's host PID, namespaces, mounts and\nfindings (procfs only when no CRI runtime is found).",
  examples: [
    'sudo nsreport scan',
    'sudo nsreport scan -o wide --pod kube-system/kube-proxy-7xk2p',
    'sudo nsreport scan -o json --cri-endpoint /run/crio/crio.sock',
  ],
  flags: SCAN_FLAGS,
  parse: parseScan,
};

function podFlag(parsed: flags.Parsed): ScanConfig['pod'] {
  const text = flags.str(parsed.values.pod);
  if (text === undefined) return null;
  const pod = flags.parsePodRef(text);
  if (pod === null)
    parsed.problems.push(
      `${flags.label(parsed, 'pod')}: ${flags.quote(text)} is not NAMESPACE/NAME (a namespace and a pod name)`,
    );
  return pod;
}

function parseScan(argv: readonly string[], env: flags.Env): ScanConfig {
  const parsed = flags.parseFlags(argv, SCAN_FLAGS, env, 'scan');
  return flags.checked<ScanConfig>(parsed, {
    command: 'scan',
    output: flags.enumFlag(parsed, 'output', OUTPUT_FORMATS) ?? 'table',
    pod: podFlag(parsed),
    ...flags.nodeScanFlags(parsed),
    nodeName: flags.nameFlag(parsed, 'node-name', 'object') ?? hostname(),
  });
}
