import type { AuditCoverage, AuditPod, AuditResult } from '../audit/audit.js';
import { SEVERITY_ORDER } from '../inspect/types.js';
import { cutEnd, cutStart, escapeText, escaped, wrapText } from './escape.js';
import { renderTable, type Cell } from './table.js';

/**
 * The audit's table and CSV. The default table fits a 120-column terminal: a list is summarised
 * as its worst item and a count of the others, long names are cut with "…"; `-o wide`, json and
 * csv give everything. Everything a report says is someone's input (anyone who may write a
 * report can forge one): the table and its lines escape it (escape.ts), the csv guards formulas.
 */

export interface AuditFormat {
  readonly output: 'table' | 'wide' | 'json' | 'csv';
  /** ANSI colors on the severity column (a terminal, and no NO_COLOR). */
  readonly color: boolean;
}

/** The terminal width the default table and its lines fit. */
const TABLE_WIDTH = 120;

/** Widths of the default table's cut columns (the rest are short by nature). */
const CUT = { pod: 34, listener: 14, mount: 20, findings: 2 } as const;

/** The first (worst) item, cut, and how many more; '-' for none. */
function summary(items: readonly string[], cut: (s: string) => string): string {
  if (items.length === 0) return '-';
  const more = items.length > 1 ? ` +${items.length - 1}` : '';
  return `${cut(items[0] ?? '')}${more}`;
}

function all(items: readonly string[]): string {
  return items.length > 0 ? items.join(',') : '-';
}

const rank = (severity: string): number => SEVERITY_ORDER.indexOf(severity as never);

/**
 * Finding ids, the most severe first; accepted ones (with --include-accepted) marked; first of
 * all the checks the report fails against its Pod, as `!node`, `!uid`, `!host-network`, ….
 */
export function findingIds(p: AuditPod): string[] {
  const worst = new Map<string, number>();
  for (const i of p.integrity ?? [])
    worst.set(`!${i.check}`, rank(i.severity) + SEVERITY_ORDER.length);
  for (const f of p.findings) {
    const id = f.accepted ? `${f.id}(accepted)` : f.id;
    worst.set(id, Math.max(worst.get(id) ?? 0, rank(f.severity)));
  }
  return [...worst]
    .sort(([a, x], [b, y]) => y - x || (a < b ? -1 : a > b ? 1 : 0))
    .map(([id]) => id);
}

/** SGR parameters of each severity's colour. */
export const COLORS: Readonly<Record<string, string>> = {
  critical: '1;31',
  high: '31',
  medium: '33',
  low: '36',
};

function paint(severity: string, color: boolean): Cell {
  const sgr = color ? COLORS[severity] : undefined;
  return sgr ? { text: severity, sgr } : severity;
}

function podRow(p: AuditPod, wide: boolean, color: boolean): Cell[] {
  const ids = findingIds(p);
  if (wide) {
    return [
      `${p.namespace}/${p.name}`,
      String(p.containers),
      String(p.hostNetwork),
      all(p.hostListeners),
      all(p.sensitiveMounts),
      all(p.propagation),
      all(ids),
      paint(p.severity, color),
    ];
  }
  const shown = ids.slice(0, CUT.findings).join(',');
  return [
    cutEnd(`${p.namespace}/${p.name}`, CUT.pod),
    String(p.hostNetwork),
    // proto/port of the most exposed listener (the audit lists those beyond loopback first);
    // its container and address in -o wide.
    summary(
      p.hostListeners.map((l) => l.split(' ')[0] ?? l),
      (s) => cutEnd(s, CUT.listener),
    ),
    summary(p.sensitiveMounts, (s) => cutStart(s, CUT.mount)),
    ids.length === 0
      ? '-'
      : `${shown}${ids.length > CUT.findings ? ` +${ids.length - CUT.findings}` : ''}`,
    paint(p.severity, color),
  ];
}

const HEADER = ['POD', 'HOSTNET', 'HOST LISTENERS', 'SENSITIVE MOUNTS', 'FINDINGS', 'SEVERITY'];
const WIDE_HEADER = [
  'POD',
  'CONTAINERS',
  'HOSTNET',
  'HOST LISTENERS',
  'SENSITIVE MOUNTS',
  'PROPAGATION',
  'FINDINGS',
  'SEVERITY',
];

/** Up to three names, then how many more (all of them in `-o wide`). */
function names(xs: readonly string[], wide: boolean): string {
  if (xs.length === 0) return 'none';
  if (wide || xs.length <= 3) return xs.join(', ');
  return `${xs.slice(0, 3).join(', ')} and ${xs.length - 3} more (-o wide)`;
}

/** A node's runtime handlers and what each gives: `default: userns rro; debrunc: rro`. */
function runtimeOf(row: NonNullable<AuditCoverage['nodeRuntimes']>[number]): string {
  if (!row.runtime) return `${row.node} (not said)`;
  // A kubelet ≥ 1.30 whose runtime says nothing: none given.
  if (row.runtime.handlers.length === 0) {
    const policy = row.runtime.supplementalGroupsPolicy ? '; supplementalGroupsPolicy yes' : '';
    return `${row.node} (no handler says userns or rro${policy})`;
  }
  const handlers = row.runtime.handlers.map((h) => {
    const has = [
      ...(h.userNamespaces ? ['userns'] : []),
      ...(h.recursiveReadOnlyMounts ? ['rro'] : []),
    ];
    return `${h.name === '' ? 'default' : h.name}: ${has.length > 0 ? has.join(' ') : 'neither'}`;
  });
  const groups =
    row.runtime.supplementalGroupsPolicy === null
      ? ''
      : `; supplementalGroupsPolicy ${row.runtime.supplementalGroupsPolicy ? 'yes' : 'no'}`;
  return `${row.node} (${handlers.join('; ')}${groups})`;
}

/** What the nodes' runtimes give, and the pods that ask for more. */
function isolationLines(c: AuditCoverage, wide: boolean): string[] {
  const unmet = (c.unmetRequests ?? []).map(
    (u) =>
      `${u.namespace}/${u.name} (${u.node}, handler ${u.handler === '' ? 'default' : u.handler}: ${u.missing.join(', ')})`,
  );
  const pods = (xs: readonly { namespace: string; name: string; node: string }[]): string[] =>
    xs.map((p) => `${p.namespace}/${p.name} (${p.node})`);
  return [
    c.nodeRuntimes
      ? `  node runtimes: ${names(c.nodeRuntimes.map(runtimeOf), wide)}`
      : '  node runtimes: not checked (no permission to list nodes)',
    `  pods asking what their node's runtime does not give: ${c.unmetRequests ? names(unmet, wide) : 'not checked'}`,
    `  hostUsers: false pods whose report shows the host's user namespace: ${names(pods(c.userNamespaceDisagreements ?? []), wide)}`,
  ];
}

function coverageLines(c: AuditCoverage, wide: boolean): string[] {
  if (!c.checked)
    return [
      `Coverage: not checked (${c.reason ?? 'unknown'}); reports not held against their Pods`,
    ];
  const pods = (xs: readonly { namespace: string; name: string; node: string }[]): string[] =>
    xs.map((p) => `${p.namespace}/${p.name} (${p.node})`);
  return [
    `Coverage: agents expected on ${c.scope ?? 'every node'}`,
    ...((c.nodesOutOfScope ?? []).length > 0
      ? [`  nodes outside that scope (not counted): ${names(c.nodesOutOfScope ?? [], wide)}`]
      : []),
    `  nodes with pods but no reports: ${names(c.nodesWithoutReports, wide)}`,
    `  pods without a report: ${names(pods(c.podsWithoutReport), wide)}`,
    `  reports without a Pod: ${names(pods(c.reportsWithoutPod), wide)}`,
    `  hostNetwork pods without a report: ${names(pods(c.hostNetworkPodsWithoutReport), wide)}`,
    `  hostNetwork pods whose report disagrees: ${names(
      c.hostNetworkDisagreements.map(
        (p) => `${p.namespace}/${p.name} (${p.node}: observed ${p.observed})`,
      ),
      wide,
    )}`,
    ...isolationLines(c, wide),
  ];
}

function tableOf(result: AuditResult, wide: boolean, color: boolean): string {
  const out: string[] = [];
  for (const node of result.nodes) {
    const hostNet = node.pods.filter((p) => p.hostNetwork).length;
    out.push(escaped`NODE ${node.name}: ${node.pods.length} pods, ${hostNet} hostNetwork`);
    const table = renderTable(
      wide ? WIDE_HEADER : HEADER,
      node.pods.map((p) => podRow(p, wide, color)),
    );
    out.push(
      ...table
        .trimEnd()
        .split('\n')
        .map((l) => `  ${l}`),
      '',
    );
  }
  // The rest are lines of text with names and messages from the reports: each escaped whole.
  const lines = [
    ...summaryLines(result),
    ...integrityLines(result),
    ...coverageLines(result.coverage, wide),
  ];
  // They fit the default table's 120 columns too: a long one goes on under itself.
  const text = lines.map(escapeText);
  out.push(...(wide ? text : text.flatMap((l) => wrapText(l, TABLE_WIDTH))));
  return out.join('\n') + '\n';
}

function summaryLines(result: AuditResult): string[] {
  const s = result.summary;
  const f = s.findingsBySeverity;
  return [
    `Summary: ${s.pods} pods on ${s.nodes} nodes (${s.reports} reports read); hostNetwork: ${s.hostNetworkPods} pods on ${s.hostNetworkNodes} nodes`,
    `  findings: critical ${f.critical}, high ${f.high}, medium ${f.medium}, low ${f.low}; accepted: ${s.accepted}`,
  ];
}

/** Every report that disagrees with its Pod or itself, one line per disagreement. */
function integrityLines(result: AuditResult): string[] {
  const lines = result.nodes.flatMap((n) =>
    n.pods.flatMap((p) =>
      (p.integrity ?? []).map((i) => `  ${p.namespace}/${p.name}: ${i.message} (${i.severity})`),
    ),
  );
  if (lines.length === 0) return [];
  return [
    `Untrusted: ${result.summary.untrusted} reports disagree with their Pods (! in FINDINGS)`,
    ...lines,
  ];
}

/** OWASP's CSV-injection rule: a cell a spreadsheet would take for a formula starts with a quote. */
const FORMULA = /^[=+\-@\t\r]/;

/**
 * One csv cell: RFC 4180 quoting, the formula guard, and control characters escaped as in the
 * table (a csv is read by people, in spreadsheets).
 */
function csvField(s: string): string {
  // Escaped, a cell has no line break left: a quote or a comma is what needs quoting.
  const cell = escapeText(FORMULA.test(s) ? `'${s}` : s);
  return /[",]/.test(cell) ? `"${cell.replace(/"/g, '""')}"` : cell;
}

function csvOf(result: AuditResult): string {
  const header =
    'node,namespace,pod,host_network,host_pid,host_ipc,containers,host_listeners,sensitive_mounts,propagation,findings,severity,integrity';
  const rows = result.nodes.flatMap((n) =>
    n.pods.map((p: AuditPod) =>
      [
        n.name,
        p.namespace,
        p.name,
        String(p.hostNetwork),
        String(p.hostPID),
        String(p.hostIPC),
        String(p.containers),
        p.hostListeners.join(';'),
        p.sensitiveMounts.join(';'),
        p.propagation.join(';'),
        findingIds(p).join(';'),
        p.severity,
        (p.integrity ?? []).map((i) => i.check).join(';'),
      ]
        .map(csvField)
        .join(','),
    ),
  );
  return [header, ...rows].join('\n') + '\n';
}

export function formatAudit(result: AuditResult, f: AuditFormat): string {
  if (f.output === 'json') return JSON.stringify(result, null, 2) + '\n';
  if (f.output === 'csv') return csvOf(result);
  return tableOf(result, f.output === 'wide', f.color);
}
