import { FINDING_IDS, isFindingId } from '../inspect/catalogue.js';
import { SEVERITY_ORDER, type Severity } from '../inspect/types.js';
import * as flags from './flags.js';

export const AUDIT_OUTPUT_FORMATS = ['table', 'wide', 'json', 'csv'] as const;
/** The severities a threshold can name (`none` is no finding). */
export const THRESHOLDS = SEVERITY_ORDER.filter(
  (s): s is Exclude<Severity, 'none'> => s !== 'none',
);
export type Threshold = (typeof THRESHOLDS)[number];

export interface AuditConfig {
  readonly command: 'audit';
  /** null: all namespaces. */
  readonly namespace: string | null;
  readonly kubeconfig: string | null;
  readonly context: string | null;
  readonly hostNetwork: boolean;
  readonly node: string | null;
  readonly minSeverity: Threshold | null;
  readonly findings: readonly string[];
  /** Accepted findings shown and counted as findings again. */
  readonly includeAccepted: boolean;
  readonly output: (typeof AUDIT_OUTPUT_FORMATS)[number];
  readonly failOn: Threshold | null;
  readonly pageSize: number;
  readonly requestTimeoutMs: number;
}

export const AUDIT_FLAGS: flags.FlagDefs = {
  'all-namespaces': { type: 'boolean', short: 'A', help: 'every namespace (the default)' },
  namespace: {
    type: 'string',
    short: 'n',
    help: 'only this namespace',
    env: true,
    completes: 'namespace',
  },
  ...flags.KUBECONFIG_FLAGS,
  'host-network': { type: 'boolean', help: 'only hostNetwork pods (label selector)' },
  node: { type: 'string', help: 'only this node (label selector)', env: true },
  'min-severity': {
    type: 'string',
    help: `${THRESHOLDS.join(' | ')} (label selector)`,
    values: THRESHOLDS,
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
    values: AUDIT_OUTPUT_FORMATS,
    default: 'table',
    env: true,
  },
  'fail-on': {
    type: 'string',
    help: 'exit 3 when a finding reaches this severity',
    values: THRESHOLDS,
    env: true,
  },
  'page-size': { type: 'string', help: 'reports per list request', default: '500', env: true },
  'request-timeout': {
    type: 'string',
    help: 'deadline of each API request',
    default: '30s',
    env: true,
  },
  ...flags.HELP_FLAG,
};

export const audit: flags.Command<AuditConfig> = {
  name: 'audit',
  synopsis: 'audit [flags]',
  alias: 'kubectl nsreport audit',
  summary: 'cluster-wide audit of the NamespaceReports',
  description:
    'Cluster-wide view from the NamespaceReports: hostNetwork pods per node with their host\nlisteners, sensitive mounts, propagation and findings, plus coverage (nodes and hostNetwork\npods without reports). Exit codes: 0 ok, 1 API error, 2 bad usage, 3 --fail-on reached.',
  examples: [
    'nsreport audit',
    'kubectl nsreport audit --host-network -o wide',
    'nsreport audit -n kube-system --min-severity high',
    'nsreport audit --finding NSR007,NSR009 -o csv > findings.csv',
    'nsreport audit --fail-on critical   # exit 3 in CI when a finding is critical',
  ],
  flags: AUDIT_FLAGS,
  parse: parseAudit,
};

function findingsFlag(parsed: flags.Parsed): string[] {
  const ids = (flags.str(parsed.values.finding) ?? '')
    .split(',')
    .map((s) => s.trim().toUpperCase())
    .filter(Boolean);
  for (const id of ids)
    if (!isFindingId(id))
      parsed.problems.push(
        `${flags.label(parsed, 'finding')}: ${flags.quote(id)} is not a finding id (${FINDING_IDS[0]} to ${FINDING_IDS[FINDING_IDS.length - 1]})`,
      );
  return ids;
}

/** Reports per page: the audit holds one page at a time, up to 256 KiB a report. */
const PAGE_SIZE = { integer: true, min: 1, max: 10_000 } as const;

function parseAudit(argv: readonly string[], env: flags.Env): AuditConfig {
  const parsed = flags.parseFlags(argv, AUDIT_FLAGS, env, 'audit');
  const namespace = flags.nameFlag(parsed, 'namespace', 'namespace');
  if (namespace !== null && flags.booleanFlag(parsed, 'all-namespaces'))
    parsed.problems.push('-A and -n: choose one');
  return flags.checked<AuditConfig>(parsed, {
    command: 'audit',
    namespace,
    kubeconfig: flags.nonEmptyFlag(parsed, 'kubeconfig'),
    context: flags.nonEmptyFlag(parsed, 'context'),
    hostNetwork: flags.booleanFlag(parsed, 'host-network'),
    node: flags.nameFlag(parsed, 'node', 'object'),
    output: flags.enumFlag(parsed, 'output', AUDIT_OUTPUT_FORMATS) ?? 'table',
    minSeverity: flags.enumFlag(parsed, 'min-severity', THRESHOLDS),
    findings: findingsFlag(parsed),
    includeAccepted: flags.booleanFlag(parsed, 'include-accepted'),
    failOn: flags.enumFlag(parsed, 'fail-on', THRESHOLDS),
    pageSize: flags.numberFlag(parsed, 'page-size', PAGE_SIZE),
    requestTimeoutMs: flags.durationFlag(parsed, 'request-timeout'),
  });
}
