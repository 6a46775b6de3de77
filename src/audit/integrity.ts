import { effectiveHost } from '../inspect/findings.js';
import { SEVERITY_ORDER, type Severity } from '../inspect/types.js';
import { HOST_LABELS, labelSays, reportLabels } from '../report/report.js';
import { NAMESPACE_TYPES, type NamespaceReport } from '../report/types.js';
import type { PodSummary } from './reader.js';
import { problemOf, type Shape } from './shape.js';

/**
 * The audit trusts nothing it can check: each report is held against its Pod as the API holds
 * it. A report is written by the agent of its pod's node, but its labels and body are anyone's to
 * edit (and were a compromised node's to forge before the chart's admission policy), so where
 * the Pod says otherwise, the report is not believed.
 */

export type IntegrityCheck =
  /** The report has no body, or one of another shape than the agent writes: it says nothing. */
  | 'body'
  /** No Pod of the report's name: the report outlived its pod. */
  | 'pod'
  /** The Pod of that name is another one (another UID; a static pod's mirror names it). */
  | 'uid'
  /** The report's node is not the Pod's spec.nodeName. */
  | 'node'
  /** The Pod's spec.hostNetwork/hostPID/hostIPC and the report's declared namespaces differ. */
  | 'host-network'
  | 'host-pid'
  | 'host-ipc'
  /** The report's labels do not say what its body says. */
  | 'labels';

export interface IntegrityIssue {
  readonly check: IntegrityCheck;
  readonly severity: Severity;
  readonly message: string;
}

/**
 * How much a disagreement weighs in the audit's severity and `--fail-on`. A report that
 * contradicts its Pod on who or where it is, or on a host namespace, cannot be trusted on
 * anything else: what a forged report hides may be the worst there is (a privileged container,
 * NSR009), so it counts as critical. Labels that contradict their own body mislead every
 * `kubectl get -l` and alert built on them, though the body still says the truth: high. A report
 * whose Pod is gone is normally collected within seconds (its owner reference); one that stays is
 * kept by someone: medium. A report without a body of the shape the agent writes (the CRD's
 * schema requires one; a report written before or around it need not have it) says nothing
 * about its pod, which may be anything: critical, like a forged one.
 */
export const INTEGRITY_SEVERITY: Readonly<Record<IntegrityCheck, Severity>> = {
  body: 'critical',
  pod: 'medium',
  uid: 'critical',
  node: 'critical',
  'host-network': 'critical',
  'host-pid': 'critical',
  'host-ipc': 'critical',
  labels: 'high',
};

/** An issue of a check, with the check's severity. */
export const issue = (check: IntegrityCheck, message: string): IntegrityIssue => ({
  check,
  severity: INTEGRITY_SEVERITY[check],
  message,
});

const NO_POD = issue('pod', 'no Pod of this name: the report outlived its pod');

/**
 * What the audit holds against a report it cannot read (readReport): that, and whether its Pod
 * exists (`pods`: false when pods could not be listed).
 */
export function checkUnreadable(
  read: Extract<ReadReport, { ok: false }>,
  pod: PodSummary | undefined,
  pods: boolean,
): IntegrityIssue[] {
  return [read.issue, ...(pods && pod === undefined ? [NO_POD] : [])];
}

const HOST_CHECKS = [
  ['network', 'host-network', 'hostNetwork'],
  ['pid', 'host-pid', 'hostPID'],
  ['ipc', 'host-ipc', 'hostIPC'],
] as const;

/** Where the report's labels say something else than its body (the labels nsreport writes). */
export function labelDisagreements(r: NamespaceReport): string[] {
  const want: Readonly<Record<string, string | undefined>> = reportLabels(r.report);
  const labels = r.metadata.labels as Readonly<Record<string, string | undefined>> | undefined;
  // A host label "false" (an older agent's) says what its absence says.
  return [...new Set([...Object.keys(want), ...HOST_LABELS])]
    .filter((k) => labelSays(labels, k) !== want[k])
    .sort()
    .map((k) => `${k}=${labels?.[k] ?? '(none)'}, the body says ${want[k] ?? '(none)'}`);
}

/** Whether the Pod is the one the report describes: its UID, or a static pod's mirror of it. */
function samePod(pod: PodSummary, uid: string): boolean {
  return uid !== '' && (pod.uid === uid || pod.mirrorOf === uid);
}

/**
 * Every way a report disagrees with its Pod (`undefined`: the API has no Pod of that name) and
 * with itself; empty when it holds.
 */
export function checkReport(r: NamespaceReport, pod: PodSummary | undefined): IntegrityIssue[] {
  const b = r.report;
  const out: IntegrityIssue[] = [];
  if (pod === undefined) out.push(NO_POD);
  else {
    if (!samePod(pod, b.pod.uid))
      out.push(issue('uid', `describes pod UID ${b.pod.uid}; the Pod of this name is ${pod.uid}`));
    if (pod.node !== b.node)
      out.push(
        issue('node', `says node ${b.node}; the Pod is bound to ${pod.node || '(no node)'}`),
      );
    for (const [type, check, field] of HOST_CHECKS) {
      const says =
        b.declared[type] === 'NODE' || effectiveHost(b.hostNamespaces[type], b.declared[type]);
      if (says !== pod[field])
        out.push(
          issue(check, `says ${field} ${String(says)}; the Pod spec says ${String(pod[field])}`),
        );
    }
  }
  const labels = labelDisagreements(r);
  if (labels.length > 0) out.push(issue('labels', `labels disagree: ${labels.join('; ')}`));
  return out;
}

const TRISTATE: Shape = { oneOf: ['true', 'false', 'unknown'] };
const MODE: Shape = { oneOf: ['POD', 'CONTAINER', 'NODE', 'TARGET', 'UNKNOWN'] };
const SEVERITY: Shape = { oneOf: SEVERITY_ORDER };
const FINDING_SEVERITY: Shape = { oneOf: SEVERITY_ORDER.filter((s) => s !== 'none') };

const LISTENER = {
  protocol: 'string',
  address: 'string',
  port: 'number',
  container: 'string',
} as const;
const MOUNT = {
  destination: 'string',
  observedPropagation: 'string',
  source: { optional: 'string' },
} as const;
const FINDING: Shape = {
  fields: {
    id: 'string',
    severity: FINDING_SEVERITY,
    message: 'string',
    container: { optional: 'string' },
    accepted: { optional: { fields: { reason: 'string', source: 'string' } } },
  },
};

/** A report's shape: the audit's fields and those given, in the body and in each container, mount. */
function reportShape(more: {
  body?: Readonly<Record<string, Shape>>;
  container?: Readonly<Record<string, Shape>>;
  mount?: Readonly<Record<string, Shape>>;
  summary?: Readonly<Record<string, Shape>>;
  network?: Readonly<Record<string, Shape>>;
}): Shape {
  return {
    fields: {
      metadata: { fields: { namespace: 'string', name: 'string' } },
      report: {
        fields: {
          node: 'string',
          pod: { fields: { uid: 'string' } },
          hostNamespaces: { fields: { network: TRISTATE, pid: TRISTATE, ipc: TRISTATE } },
          declared: { fields: { network: MODE, pid: MODE, ipc: MODE } },
          network: {
            fields: { listeners: { listOf: { fields: LISTENER } }, ...more.network },
          },
          containers: {
            listOf: {
              fields: {
                mounts: { listOf: { fields: { ...MOUNT, ...more.mount } } },
                ...more.container,
              },
            },
          },
          findings: { listOf: FINDING },
          summary: {
            fields: { containers: 'number', highestSeverity: SEVERITY, ...more.summary },
          },
          ...more.body,
        },
      },
    },
  };
}

/** What the audit reads of a report: metadata and the parts of the body its rows are made of. */
const REPORT = reportShape({});

const NAMESPACE: Shape = {
  optional: { fields: { inode: 'number', sharedWithHost: { optional: 'string' } } },
};

/** What `nsreport describe` reads of a report: nearly all of it, since it is all shown. */
export const DESCRIBED_REPORT = reportShape({
  body: {
    runtime: { fields: { name: 'string', version: 'string' } },
    sandbox: {
      fields: { id: 'string', state: 'string', runtimeHandler: { optional: 'string' } },
    },
    error: { optional: 'string' },
    warnings: { optional: { listOf: 'string' } },
  },
  network: {
    interfaces: {
      listOf: {
        fields: { name: 'string', ipv4: { listOf: 'string' }, ipv6: { listOf: 'string' } },
      },
    },
    hostPorts: {
      optional: {
        listOf: { fields: { protocol: 'string', containerPort: 'number', hostPort: 'number' } },
      },
    },
  },
  container: {
    name: 'string',
    image: 'string',
    pid: 'number',
    state: 'string',
    uid: { optional: 'number' },
    error: { optional: 'string' },
    escaped: {
      optional: {
        listOf: {
          fields: { pid: 'number', comm: 'string', namespace: 'string', into: 'string' },
        },
      },
    },
    namespaces: {
      fields: Object.fromEntries(NAMESPACE_TYPES.map((t) => [t, NAMESPACE])),
    },
  },
  mount: {
    volume: { optional: { fields: { type: 'string', name: 'string' } } },
    declaredPropagation: { optional: 'string' },
    hostPropagation: 'string',
    consistent: 'boolean',
    explained: { optional: 'string' },
  },
  summary: { findings: 'number', accepted: 'number' },
});

/**
 * A report object as the API lists it, checked: the NamespaceReport, or what is wrong with it
 * (no body, a field of the wrong type) with whatever names it still has.
 */
export type ReadReport =
  | { readonly ok: true; readonly report: NamespaceReport }
  | {
      readonly ok: false;
      readonly namespace: string;
      readonly name: string;
      /** The node its body claims, when it says one. */
      readonly node: string;
      readonly issue: IntegrityIssue;
    };

const textAt = (v: unknown, ...path: string[]): string => {
  let cur = v;
  for (const k of path)
    cur = typeof cur === 'object' && cur !== null ? (cur as Record<string, unknown>)[k] : undefined;
  return typeof cur === 'string' ? cur : '';
};

/** Checks a listed object against what the audit reads of a report (REPORT, or `shape`). */
export function readReport(o: unknown, shape: Shape = REPORT): ReadReport {
  const problem = problemOf(o, shape, '')?.replace(/^\./, '') ?? null;
  if (problem === null) return { ok: true, report: o as NamespaceReport };
  const body = typeof o === 'object' && o !== null ? (o as { report?: unknown }).report : undefined;
  const message = problem.startsWith('report')
    ? body === undefined || body === null
      ? 'no report body: it says nothing about its pod'
      : `a report body nsreport does not write (${problem}): it says nothing about its pod`
    : `a report object nsreport does not write (${problem})`;
  return {
    ok: false,
    namespace: textAt(o, 'metadata', 'namespace'),
    name: textAt(o, 'metadata', 'name'),
    node: textAt(o, 'report', 'node'),
    issue: issue('body', message),
  };
}
