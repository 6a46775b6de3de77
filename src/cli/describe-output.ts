import type { IntegrityIssue } from '../audit/integrity.js';
import { findingEntry } from '../inspect/catalogue.js';
import { effectiveHost, isLoopback } from '../inspect/findings.js';
import {
  NAMESPACE_TYPES,
  type NamespaceReport,
  type NamespaceType,
  type ReportContainer,
  type ReportFinding,
  type ReportMount,
} from '../report/types.js';
import { COLORS } from './audit-output.js';
import { escapeText } from './escape.js';
import { renderTable, type Cell } from './table.js';

/**
 * `nsreport describe`: one pod's report told the way an operator walks it by hand, in
 * `kubectl describe`'s shape (a field per line, blocks indented by two). Everything a report
 * says is someone's input: every value is escaped (escape.ts) where it is rendered, and what goes
 * into a command to paste is also quoted for the shell.
 */

export interface DescribeInput {
  readonly report: NamespaceReport;
  /**
   * The other pods of its node, by their reports: who shares which namespace; null when they
   * could not be read (a namespace's viewer may not list other namespaces' reports).
   */
  readonly neighbours: readonly NamespaceReport[] | null;
  /** Where the report came from: the cluster (held against its Pod) or this machine. */
  readonly source:
    | {
        readonly kind: 'cluster';
        readonly server: string;
        /** What the audit's check found; null when the Pod could not be read. */
        readonly integrity: readonly IntegrityIssue[] | null;
      }
    | { readonly kind: 'local' };
  readonly color: boolean;
}

/**
 * A word for the shell: as it is when it is plainly one, else in single quotes, a quote in it
 * written `'"'"'` (no backslash, which the terminal escaping would double).
 */
export function shellWord(s: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'"'"'`)}'`;
}

const NAMES: Readonly<Record<NamespaceType, string>> = {
  net: 'network',
  mnt: 'mount',
  pid: 'PID',
  ipc: 'IPC',
  uts: 'UTS (hostname)',
  user: 'user',
  cgroup: 'cgroup',
  time: 'time',
};

/** A namespace type's name; a report's other word as it is (it is escaped where shown). */
const nsName = (type: string): string =>
  (NAMES as Readonly<Record<string, string | undefined>>)[type] ?? type;

/** A list of names, the first few and a count of the rest. */
function some(names: readonly string[], max = 5): string {
  if (names.length <= max) return names.join(', ');
  return `${names.slice(0, max).join(', ')} and ${names.length - max} more`;
}

const podName = (r: NamespaceReport): string => `${r.metadata.namespace}/${r.metadata.name}`;

/** Pods of the node (not this one) whose containers have that namespace inode. */
function sharers(input: DescribeInput, type: NamespaceType, inode: number): string[] {
  const self = podName(input.report);
  return (input.neighbours ?? [])
    .filter((r) => podName(r) !== self)
    .filter((r) => r.report.containers.some((c) => c.namespaces[type]?.inode === inode))
    .map(podName)
    .sort();
}

function paint(text: string, severity: string, color: boolean): string {
  const sgr = color ? COLORS[severity] : undefined;
  return sgr ? `\u001b[${sgr}m${text}\u001b[0m` : text;
}

/** A field line: `Name:` padded to the block's width, then the escaped value. */
function field(indent: number, name: string, value: string, width = 16): string {
  return `${' '.repeat(indent)}${`${name}:`.padEnd(width)}${escapeText(value)}`;
}

/** A table indented under its block, every cell escaped by renderTable. */
function block(
  indent: number,
  header: readonly string[],
  rows: readonly (readonly Cell[])[],
): string[] {
  const pad = ' '.repeat(indent);
  return renderTable(header, rows)
    .trimEnd()
    .split('\n')
    .map((l) => pad + l);
}

function sourceLines(input: DescribeInput): string[] {
  const s = input.source;
  if (s.kind === 'local')
    return [field(0, 'Source', "this machine's runtime and /proc, just now (no cluster read)")];
  const base = `the NamespaceReport on ${s.server}`;
  if (s.integrity === null)
    return [field(0, 'Source', `${base}; its Pod could not be read: not checked against it`)];
  if (s.integrity.length === 0) return [field(0, 'Source', `${base}; it agrees with its Pod`)];
  return [
    field(0, 'Source', `${base}; it DISAGREES with its Pod, so nothing below can be trusted:`),
    ...s.integrity.map(
      (i) =>
        `  ${paint(i.severity, i.severity, input.color)}  ${escapeText(`${i.check}: ${i.message}`)}`,
    ),
  ];
}

function hostLines(input: DescribeInput): string[] {
  const b = input.report.report;
  const line = (label: string, observed: string, declared: string, type: NamespaceType): string => {
    const shared = effectiveHost(observed as never, declared as never);
    const inode = b.containers.find((c) => c.namespaces[type] !== undefined)?.namespaces[type]
      ?.inode;
    const with_ = shared && inode !== undefined ? sharers(input, type, inode) : [];
    const also = with_.length > 0 ? `; also the host's for ${some(with_)}` : '';
    const what = shared
      ? `yes: the node's own ${NAMES[type]} namespace${also}`
      : observed === 'unknown'
        ? 'unknown (the host reference could not be read)'
        : 'no';
    return field(2, label, what, 10);
  };
  return [
    "Host namespaces (the pod shares the node's):",
    line('network', b.hostNamespaces.network, b.declared.network, 'net'),
    line('pid', b.hostNamespaces.pid, b.declared.pid, 'pid'),
    line('ipc', b.hostNamespaces.ipc, b.declared.ipc, 'ipc'),
  ];
}

/** Namespaces the runtime makes once per pod (CRI NamespaceMode POD), whatever its containers. */
const POD_LEVEL: ReadonlySet<NamespaceType> = new Set(['net', 'ipc', 'uts', 'user']);

/** Host namespaces whose sharers are worth naming: the ones a pod spec asks for (hostNetwork…). */
const NAMED_SHARERS: ReadonlySet<NamespaceType> = new Set(['net', 'pid', 'ipc']);

function ownerOf(sharedWithHost: string | undefined, podLevel: boolean): string {
  if (sharedWithHost === 'true') return "the host's";
  if (sharedWithHost === 'unknown') return 'unknown';
  return podLevel ? "the pod's" : "the container's";
}

/** Who a namespace is: the host's, this pod's (containers that share it), or the container's. */
function whose(
  input: DescribeInput,
  c: ReportContainer,
  type: NamespaceType,
): { whose: string; alsoIn: string } {
  const ns = c.namespaces[type];
  if (ns === undefined) return { whose: '-', alsoIn: '-' };
  const b = input.report.report;
  const siblings = b.containers
    .filter((o) => o !== c && o.namespaces[type]?.inode === ns.inode)
    .map((o) => o.name);
  const others = sharers(input, type, ns.inode);
  const podLevel =
    POD_LEVEL.has(type) || (type === 'pid' && b.declared.pid === 'POD') || siblings.length > 0;
  const owner = ownerOf(ns.sharedWithHost, podLevel);
  // Most pods are in the host's user, cgroup and time namespaces: a count says enough.
  const pods =
    others.length === 0
      ? []
      : ns.sharedWithHost === 'true' && !NAMED_SHARERS.has(type)
        ? [`${others.length} other pod${others.length === 1 ? '' : 's'}`]
        : [`pods ${some(others, 3)}`];
  const alsoIn = [...siblings.map((n) => `container ${n}`), ...pods];
  return { whose: owner, alsoIn: alsoIn.length > 0 ? alsoIn.join('; ') : '-' };
}

function namespaceRows(input: DescribeInput, c: ReportContainer): Cell[][] {
  return NAMESPACE_TYPES.filter((t) => c.namespaces[t] !== undefined).map((t) => {
    const w = whose(input, c, t);
    return [t, String(c.namespaces[t]?.inode ?? ''), w.whose, w.alsoIn];
  });
}

/** What a mount's propagation means for the mounts made on either side. */
export function propagationMeaning(m: ReportMount): string {
  const note =
    m.explained === 'rootfs-rshared'
      ? " (the runtime made the container's root rshared for a Bidirectional mount)"
      : !m.consistent
        ? ` (not what ${m.declaredPropagation ?? 'None'} gives: NSR005)`
        : '';
  const hostShared = m.hostPropagation === 'shared' || m.hostPropagation === 'shared+slave';
  switch (m.observedPropagation) {
    case 'shared':
      return (
        (hostShared
          ? 'a mount made on the host appears here, and one made here reaches the host'
          : `shared here, but the host's mount is ${m.hostPropagation}: nothing crosses to the host`) +
        note
      );
    case 'shared+slave':
      return `a mount made on the host appears here; one made here reaches the pod's other peers, not the host${note}`;
    case 'slave':
      return `a mount made on the host appears here; one made here stays here${note}`;
    case 'private':
      return `a mount made on the host does not appear here, and one made here stays here${note}`;
    case 'unbindable':
      return `private, and it cannot be bind-mounted elsewhere${note}`;
    case 'absent':
      return 'nothing is mounted there (the container has not made it, or removed it)';
    default:
      return "unknown: the container's mount table could not be read";
  }
}

function mountSource(m: ReportMount): string {
  if (m.volume !== undefined) return `${m.volume.type} volume ${m.volume.name}`;
  // A report is anyone's to write: one with neither is shown as such.
  return (m as { source?: string }).source ?? '-';
}

function mountRows(c: ReportContainer): Cell[][] {
  return c.mounts.map((m) => [
    m.destination,
    mountSource(m),
    m.readOnly ? 'ro' : 'rw',
    m.declaredPropagation ?? 'None',
    m.observedPropagation,
    propagationMeaning(m),
  ]);
}

function containerLines(input: DescribeInput, c: ReportContainer): string[] {
  const out = [
    `Container ${escapeText(c.name)}:`,
    field(2, 'Image', c.image),
    field(2, 'State', c.state),
    field(2, 'Host PID', c.pid > 0 ? String(c.pid) : 'none (not running)'),
  ];
  if (c.privileged) out.push(field(2, 'Privileged', 'yes'));
  if (c.sandboxed)
    out.push(
      field(
        2,
        'Sandboxed',
        "yes: the host PID is the sandbox's, its namespaces are not the container's",
      ),
    );
  if (c.uid !== undefined) out.push(field(2, 'Runs as uid', String(c.uid)));
  if (c.error) out.push(field(2, 'Error', c.error));
  for (const e of c.escaped ?? [])
    out.push(
      field(
        2,
        'Escaped',
        `process ${e.pid} (${e.comm}) is in ${e.into === 'host' ? "the host's" : `pod ${e.into}'s`} ${nsName(e.namespace)} namespace`,
      ),
    );
  const ns = namespaceRows(input, c);
  if (ns.length > 0)
    out.push('  Namespaces:', ...block(4, ['TYPE', 'INODE', 'WHOSE', 'ALSO IN'], ns));
  const mounts = mountRows(c);
  if (mounts.length > 0)
    out.push(
      '  Mounts:',
      ...block(
        4,
        ['DESTINATION', 'SOURCE', 'MODE', 'DECLARED', 'OBSERVED', 'WHAT IT MEANS'],
        mounts,
      ),
    );
  return out;
}

function networkLines(input: DescribeInput): string[] {
  const b = input.report.report;
  const onHost = effectiveHost(b.hostNamespaces.network, b.declared.network);
  // netns is the report's, unchecked: escaped like every value.
  const netns = b.network.netns !== null ? ` ${escapeText(String(b.network.netns))}` : '';
  const out = [
    `Network (${onHost ? "the node's own" : "the pod's own"} network namespace${netns}):`,
  ];
  const ifs = b.network.interfaces.map((i) => [i.name, [...i.ipv4, ...i.ipv6].join(', ') || '-']);
  if (ifs.length > 0) out.push(...block(2, ['INTERFACE', 'ADDRESSES'], ifs));
  const hostPorts = b.network.hostPorts ?? [];
  const listeners = b.network.listeners.map((l): Cell[] => {
    const mapped = hostPorts.find(
      (h) => h.containerPort === l.port && l.protocol.startsWith(h.protocol.toLowerCase()),
    );
    const reach = isLoopback(l.address)
      ? onHost
        ? 'only from the node itself (loopback)'
        : 'only from inside the pod (loopback)'
      : onHost
        ? "from outside the node, on the node's addresses"
        : mapped
          ? `from outside the node on host port ${mapped.hostPort}; from other pods at the pod's address`
          : "from other pods and the node at the pod's address; from outside only through a Service";
    return [l.protocol, `${l.address}:${l.port}`, l.container || '-', reach];
  });
  if (listeners.length > 0)
    out.push(
      '  Listeners:',
      ...block(4, ['PROTO', 'ADDRESS', 'CONTAINER', 'REACHABLE'], listeners),
    );
  else out.push('  Listeners:     none');
  return out;
}

function findingLines(findings: readonly ReportFinding[], color: boolean): string[] {
  if (findings.length === 0) return ['Findings:        none'];
  const out = ['Findings:'];
  for (const f of findings) {
    const entry = findingEntry(f.id);
    const who = f.container ? ` (${f.container})` : '';
    out.push(
      `  ${paint(f.severity, f.severity, color)}  ${escapeText(`${f.id}${who}: ${f.message}`)}`,
    );
    if (entry) out.push(`      fix: ${entry.fix} (docs/findings.md#${entry.anchor})`);
    out.push(
      f.accepted
        ? `      accepted (${f.accepted.source}): ${escapeText(f.accepted.reason)}; not counted`
        : '      not accepted',
    );
  }
  return out;
}

/** The commands a person would run next, with the real PID and names, ready to paste. */
function lookFurther(input: DescribeInput): string[] {
  const r = input.report;
  const pid = r.report.containers.find(
    (c) => Number.isInteger(c.pid) && c.pid > 0 && !c.sandboxed,
  )?.pid;
  const where =
    input.source.kind === 'local'
      ? 'on this machine, as root'
      : `on node ${r.report.node}, as root`;
  const out = [`Look further (${escapeText(where)}):`];
  if (pid === undefined) return [...out, '  no running container: nothing to enter'];
  const ref = `${r.metadata.namespace}/${r.metadata.name}`;
  const netnsName = `${r.metadata.namespace}_${r.metadata.name}`;
  const cmds: [string, string][] = [
    [`lsns -p ${pid}`, 'its namespaces'],
    [`nsenter -t ${pid} -n ip -br addr`, 'its network interfaces'],
    [`nsenter -t ${pid} -n ss -tulpn`, 'its listeners'],
    [`findmnt -N ${pid} -o TARGET,SOURCE,PROPAGATION`, 'its mounts and their propagation'],
    [`nsreport netns link ${shellWord(ref)}`, 'name its network namespace for ip netns'],
    [`ip netns exec ${shellWord(netnsName)} ip -br addr`, 'then look through that name'],
  ];
  const width = Math.max(...cmds.map(([c]) => c.length));
  return [...out, ...cmds.map(([c, why]) => `  ${escapeText(c.padEnd(width))}   # ${why}`)];
}

/** The whole description. */
export function formatDescription(input: DescribeInput): string {
  const r = input.report;
  const b = r.report;
  const s = b.summary;
  const lines = [
    field(0, 'Name', r.metadata.name),
    field(0, 'Namespace', r.metadata.namespace),
    field(0, 'Node', b.node),
    field(0, 'Pod UID', b.pod.uid),
    field(
      0,
      'Runtime',
      `${b.runtime.name} ${b.runtime.version}${b.sandbox.runtimeHandler ? ` (handler ${b.sandbox.runtimeHandler})` : ''}`,
    ),
    field(0, 'Sandbox', `${b.sandbox.id.slice(0, 13)} (${b.sandbox.state})`),
    ...sourceLines(input),
    ...(input.neighbours === null
      ? [field(0, 'Neighbours', 'not read (not allowed to list the NamespaceReports of its node)')]
      : []),
    field(
      0,
      'Severity',
      `${s.highestSeverity}: ${s.findings} finding${s.findings === 1 ? '' : 's'}${s.accepted > 0 ? `, ${s.accepted} accepted` : ''}`,
    ),
    ...(b.error ? [field(0, 'Error', b.error)] : []),
    ...(b.truncated ? [field(0, 'Truncated', 'yes: lists were cut to keep the report small')] : []),
    ...(b.warnings ?? []).map((w) => field(0, 'Warning', w)),
    '',
    ...hostLines(input),
    '',
    ...networkLines(input),
    ...b.containers.flatMap((c) => ['', ...containerLines(input, c)]),
    '',
    ...findingLines(b.findings, input.color),
    '',
    ...lookFurther(input),
  ];
  return `${lines.join('\n')}\n`;
}
