import { createRequire } from 'node:module';
import type { HostView } from '../collect/hostview.js';
import { LABEL_HOST_NETWORK, type NamespaceReport } from '../report/types.js';
import type { OutputFormat } from '../config/scan.js';
import { renderTable } from './table.js';

function list(items: readonly unknown[]): object {
  return { apiVersion: 'v1', kind: 'List', items };
}

/** yaml is loaded only for -o yaml: 70 modules and ~8 MiB that JSON and tables do not need. */
const load = createRequire(import.meta.url);

function serialize(doc: object, format: 'json' | 'yaml'): string {
  if (format === 'json') return JSON.stringify(doc, null, 2) + '\n';
  const { stringify } = load('yaml') as typeof import('yaml');
  return stringify(doc);
}

function propagationSummary(r: NamespaceReport, container: string): string {
  const c = r.report.containers.find((x) => x.name === container);
  const seen = [...new Set((c?.mounts ?? []).map((m) => m.observedPropagation))].sort();
  return seen.length > 0 ? seen.join(',') : '-';
}

function findingIds(r: NamespaceReport, container: string | null): string {
  const ids = r.report.findings
    .filter((f) => f.container === undefined || f.container === container)
    .map((f) => (f.accepted ? `${f.id}(accepted)` : f.id));
  return ids.length > 0 ? [...new Set(ids)].join(',') : '-';
}

function listenerText(r: NamespaceReport, container: string): string {
  const ls = r.report.network.listeners.filter((l) => l.container === container);
  return ls.length > 0 ? ls.map((l) => `${l.protocol}/${l.port}`).join(',') : '-';
}

const HEADER = [
  'NAMESPACE',
  'POD',
  'CONTAINER',
  'PID',
  'HOSTNET',
  'NETNS',
  'MOUNTS',
  'PROPAGATION',
  'FINDINGS',
  'SEVERITY',
];
const WIDE_HEADER = ['STATE', 'HOSTPID', 'HOSTIPC', 'MNTNS', 'PIDNS', 'LISTENERS', 'IMAGE'];

type ContainerEntry = NamespaceReport['report']['containers'][number];

function row(r: NamespaceReport, c: ContainerEntry): string[] {
  const b = r.report;
  return [
    r.metadata.namespace,
    r.metadata.name,
    c.name,
    c.pid > 0 ? String(c.pid) : '-',
    r.metadata.labels[LABEL_HOST_NETWORK] ?? 'false',
    b.network.netns !== null ? String(b.network.netns) : '-',
    String(c.mounts.length),
    propagationSummary(r, c.name),
    findingIds(r, c.name),
    b.summary.highestSeverity,
  ];
}

function wideColumns(r: NamespaceReport, c: ContainerEntry): string[] {
  const b = r.report;
  return [
    c.error ? `${c.state}(error)` : c.state,
    b.hostNamespaces.pid,
    b.hostNamespaces.ipc,
    String(c.namespaces.mnt?.inode ?? '-'),
    String(c.namespaces.pid?.inode ?? '-'),
    listenerText(r, c.name),
    c.image,
  ];
}

/** A pod without containers still gets a row: its sandbox exists. */
function podOnlyRow(r: NamespaceReport, wide: boolean): string[] {
  const b = r.report;
  const base = [
    r.metadata.namespace,
    r.metadata.name,
    '-',
    '-',
    r.metadata.labels[LABEL_HOST_NETWORK] ?? 'false',
    '-',
    '0',
    '-',
    findingIds(r, null),
    b.summary.highestSeverity,
  ];
  return wide
    ? [...base, b.sandbox.state, b.hostNamespaces.pid, b.hostNamespaces.ipc, '-', '-', '-', '-']
    : base;
}

/** One row per container, hostNetwork and findings visible at a glance. */
export function reportsTable(reports: readonly NamespaceReport[], wide: boolean): string {
  const rows = reports.flatMap((r) =>
    r.report.containers.length === 0
      ? [podOnlyRow(r, wide)]
      : r.report.containers.map((c) => (wide ? [...row(r, c), ...wideColumns(r, c)] : row(r, c))),
  );
  return renderTable(wide ? [...HEADER, ...WIDE_HEADER] : HEADER, rows);
}

export function formatReports(reports: readonly NamespaceReport[], format: OutputFormat): string {
  if (format === 'json' || format === 'yaml') return serialize(list(reports), format);
  return reportsTable(reports, format === 'wide');
}

function commands(v: HostView['namespaces'][number], max: number): string {
  const names = [...new Set(v.processes.map((p) => p.comm))];
  return names.length > max
    ? `${names.slice(0, max).join(',')},…(+${names.length - max})`
    : names.join(',');
}

export function formatHostView(view: HostView, format: OutputFormat): string {
  if (format === 'json' || format === 'yaml') return serialize(view, format);
  const rows = view.namespaces.map((n) => [
    n.type,
    String(n.inode),
    n.host,
    String(n.processes.length),
    n.processes
      .slice(0, format === 'wide' ? 50 : 5)
      .map((p) => p.pid)
      .join(',') + (n.processes.length > (format === 'wide' ? 50 : 5) ? ',…' : ''),
    commands(n, format === 'wide' ? 50 : 4),
  ]);
  return renderTable(['TYPE', 'NAMESPACE', 'HOST', 'PROCESSES', 'PIDS', 'COMMANDS'], rows);
}
