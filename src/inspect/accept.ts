import { isFindingId, type FindingId } from './catalogue.js';
import type { Finding, PodInspection } from './types.js';

/**
 * Accepted findings. Acceptance is the cluster admin's: rules in the agent's configuration
 * (namespace, finding id, optional pod label selector, pod UID and host path, reason), and pod
 * annotations only in the
 * namespaces the admin lists — a pod's author must not silence a finding on their own pod. An
 * accepted finding stays in the report, marked; it no longer counts toward the pod's severity.
 */

export const ANNOTATION_ACCEPT = 'nsreport.dev/accept';
export const ANNOTATION_ACCEPT_REASON = 'nsreport.dev/accept-reason';

/** One requirement of a label selector (the Kubernetes selector grammar). */
type Requirement =
  | { readonly op: 'eq' | 'ne'; readonly key: string; readonly value: string }
  | { readonly op: 'in' | 'notin'; readonly key: string; readonly values: readonly string[] }
  | { readonly op: 'exists' | 'absent'; readonly key: string };

export interface AcceptRule {
  readonly finding: FindingId;
  /** A namespace, or '*' for every namespace. */
  readonly namespace: string;
  /** The selector as written ('' for every pod of the namespace). */
  readonly selector: string;
  readonly requirements: readonly Requirement[];
  /** Only the pod with this UID (the agent's own, from the downward API); '' for any. */
  readonly podUid: string;
  /**
   * Only a mount of exactly this host path ('' for any finding), and with `readOnly` only a
   * read-only one: what makes a mount's finding (NSR007) acceptable for one socket directory
   * and nothing else of the same pod.
   */
  readonly hostPath: string;
  readonly readOnly: boolean;
  readonly reason: string;
}

export interface AcceptPolicy {
  readonly rules: readonly AcceptRule[];
  /** Namespaces whose pods' `nsreport.dev/accept` annotation is honoured; '*' for all. */
  readonly annotationNamespaces: readonly string[];
}

export const NO_ACCEPTANCE: AcceptPolicy = { rules: [], annotationNamespaces: [] };

const KEY = String.raw`(?:[A-Za-z0-9.-]+/)?[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?`;
const VALUE = String.raw`(?:[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)?`;
const REQUIREMENT = new RegExp(
  String.raw`^\s*(?:(!)\s*(${KEY})|(${KEY})\s*(?:(==|=|!=)\s*(${VALUE})|\s(in|notin)\s*\(([^)]*)\))?)\s*(?:,|$)`,
);

const VALUE_ONLY = new RegExp(`^${VALUE}$`);

/** One matched requirement; null when its value list is malformed. */
function requirement(m: RegExpExecArray): Requirement | null {
  const [, bang, absentKey, key = '', op, value = '', setOp, list = ''] = m;
  if (bang === '!') return { op: 'absent', key: absentKey ?? '' };
  if (setOp === 'in' || setOp === 'notin') {
    const values = list.split(',').map((v) => v.trim());
    return values.every((v) => VALUE_ONLY.test(v)) ? { op: setOp, key, values } : null;
  }
  if (op !== undefined) return { op: op === '!=' ? 'ne' : 'eq', key, value };
  return { op: 'exists', key };
}

/**
 * Parses a label selector (`tier=control-plane,app in (a,b),!canary`); a string is the
 * problem when it does not parse.
 */
export function parseSelector(text: string): Requirement[] | string {
  const out: Requirement[] = [];
  let rest = text.trim();
  while (rest !== '') {
    const m = REQUIREMENT.exec(rest);
    const req = m ? requirement(m) : null;
    if (!m || !req)
      return `"${text}" is not a label selector (e.g. tier=control-plane,app in (a,b))`;
    out.push(req);
    rest = rest.slice(m[0].length).trim();
    if (m[0].trimEnd().endsWith(',') && rest === '') return `"${text}" ends with a comma`;
  }
  return out;
}

function matches(reqs: readonly Requirement[], labels: Readonly<Record<string, string>>): boolean {
  return reqs.every((r) => {
    const v = labels[r.key];
    switch (r.op) {
      case 'eq':
        return v === r.value;
      case 'ne':
        return v !== r.value;
      case 'in':
        return v !== undefined && r.values.includes(v);
      case 'notin':
        return v === undefined || !r.values.includes(v);
      case 'exists':
        return v !== undefined;
      case 'absent':
        return v === undefined;
    }
  });
}

function findingIds(text: string): { ids: FindingId[]; bad: string[] } {
  const items = text
    .split(',')
    .map((s) => s.trim().toUpperCase())
    .filter(Boolean);
  return {
    ids: items.filter(isFindingId),
    bad: items.filter((id) => !isFindingId(id)),
  };
}

const NAMESPACE = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?|\*)$/;

function str(v: unknown): string | null {
  return typeof v === 'string' ? v.trim() : null;
}

const FIELDS = ['finding', 'namespace', 'selector', 'reason', 'pod', 'hostPath', 'readOnly'];

const POD_UID = /^[0-9a-f][0-9a-f-]{0,63}$/;

/** The optional conditions of an entry (pod UID, host path, read-only), or their problems. */
function conditions(e: Record<string, unknown>): {
  podUid: string;
  hostPath: string;
  readOnly: boolean;
  problems: string[];
} {
  const podUid = str(e.pod) ?? '';
  const hostPath = str(e.hostPath) ?? '';
  const problems = [
    e.pod !== undefined && !POD_UID.test(podUid) ? `"pod" must be a pod UID (got "${podUid}")` : '',
    e.hostPath !== undefined && !hostPath.startsWith('/')
      ? `"hostPath" must be an absolute path (got "${hostPath}")`
      : '',
    e.readOnly !== undefined && typeof e.readOnly !== 'boolean'
      ? '"readOnly" must be true or false'
      : '',
    e.readOnly === true && e.hostPath === undefined ? '"readOnly" needs a "hostPath"' : '',
  ].filter(Boolean);
  return {
    podUid,
    hostPath: hostPath.replace(/\/+$/, '') || hostPath,
    readOnly: e.readOnly === true,
    problems,
  };
}

function entryProblems(
  e: Record<string, unknown>,
  p: {
    ids: FindingId[];
    bad: string[];
    namespace: string;
    reason: string;
    requirements: Requirement[] | string;
  },
): string[] {
  const unknown = Object.keys(e).filter((k) => !FIELDS.includes(k));
  return [
    unknown.length > 0 ? `unknown field(s) ${unknown.join(', ')}` : '',
    p.ids.length === 0 && p.bad.length === 0 ? '"finding" is required' : '',
    ...p.bad.map((id) => `"${id}" is not a finding id (NSR001…)`),
    NAMESPACE.test(p.namespace)
      ? ''
      : `"namespace" must be a namespace or "*" (got "${p.namespace}")`,
    p.reason === '' ? '"reason" is required' : '',
    e.selector !== undefined && typeof e.selector !== 'string' ? '"selector" must be a string' : '',
    typeof p.requirements === 'string' ? `selector ${p.requirements}` : '',
  ].filter(Boolean);
}

/** One entry of the configuration: rules (one per finding id), or the problems with it. */
function parseEntry(v: unknown, where: string): { rules: AcceptRule[]; problems: string[] } {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    return { rules: [], problems: [`${where}: not an object`] };
  const e = v as Record<string, unknown>;
  const { ids, bad } = findingIds(str(e.finding) ?? '');
  const namespace = str(e.namespace) ?? '';
  const reason = str(e.reason) ?? '';
  const selector = str(e.selector) ?? '';
  const requirements = parseSelector(selector);
  const cond = conditions(e);
  const problems = [
    ...entryProblems(e, { ids, bad, namespace, reason, requirements }),
    ...cond.problems,
  ].map((p) => `${where}: ${p}`);
  if (problems.length > 0) return { rules: [], problems };
  return {
    rules: ids.map((finding) => ({
      finding,
      namespace,
      selector,
      requirements: requirements as Requirement[],
      podUid: cond.podUid,
      hostPath: cond.hostPath,
      readOnly: cond.readOnly,
      reason,
    })),
    problems: [],
  };
}

/**
 * Parses the admin's rules: a JSON list of `{finding, namespace, selector?, reason}`. A bad entry
 * is dropped with a problem (its findings stay unaccepted: the safe side); the others apply.
 */
export function parseAcceptRules(text: string): { rules: AcceptRule[]; problems: string[] } {
  if (text.trim() === '') return { rules: [], problems: [] };
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    return { rules: [], problems: [`not JSON (${(err as Error).message}): nothing accepted`] };
  }
  if (!Array.isArray(doc)) return { rules: [], problems: ['not a JSON list: nothing accepted'] };
  const out = doc.map((e, i) => parseEntry(e, `entry ${i + 1}`));
  return { rules: out.flatMap((o) => o.rules), problems: out.flatMap((o) => o.problems) };
}

/** Parses the namespaces whose pods may accept their own findings (comma-separated, or '*'). */
export function parseAnnotationNamespaces(text: string): {
  namespaces: string[];
  problems: string[];
} {
  const items = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return {
    namespaces: items.filter((n) => NAMESPACE.test(n)),
    problems: items.filter((n) => !NAMESPACE.test(n)).map((n) => `"${n}" is not a namespace`),
  };
}

const REASON_MAX = 256;

function clipReason(s: string): string {
  return s.length <= REASON_MAX ? s : s.slice(0, REASON_MAX - 1) + '…';
}

/** What the pod's own annotations accept, or why they are not honoured. */
function fromAnnotations(
  pod: PodInspection,
  policy: AcceptPolicy,
): { ids: Set<FindingId>; reason: string; warnings: string[] } {
  const none = { ids: new Set<FindingId>(), reason: '' };
  const text = pod.annotations[ANNOTATION_ACCEPT];
  if (text === undefined) return { ...none, warnings: [] };
  const ns = pod.pod.namespace;
  if (!policy.annotationNamespaces.some((n) => n === '*' || n === ns)) {
    return {
      ...none,
      warnings: [
        `${ANNOTATION_ACCEPT} ignored: pod annotations may not accept findings in namespace "${ns}" (the agent's --accept-annotations-in)`,
      ],
    };
  }
  const { ids, bad } = findingIds(text);
  const warnings = bad.map((id) => `${ANNOTATION_ACCEPT}: "${id}" is not a finding id`);
  const reason = (pod.annotations[ANNOTATION_ACCEPT_REASON] ?? '').trim();
  if (reason === '') {
    warnings.push(`${ANNOTATION_ACCEPT} ignored: ${ANNOTATION_ACCEPT_REASON} is missing or empty`);
    return { ...none, warnings };
  }
  return { ids: new Set(ids), reason: clipReason(reason), warnings };
}

/**
 * Marks the findings the policy accepts. The admin's rules come first (source `config`), then
 * the pod's annotation where the admin allows it. Returns the findings and any warnings about
 * the pod's acceptance annotations.
 */
export function applyAcceptance(
  pod: PodInspection,
  findings: readonly Finding[],
  policy: AcceptPolicy,
): { findings: Finding[]; warnings: string[] } {
  const ns = pod.pod.namespace;
  const rules = policy.rules.filter(
    (r) =>
      (r.namespace === '*' || r.namespace === ns) &&
      (r.podUid === '' || r.podUid === pod.pod.uid) &&
      matches(r.requirements, pod.labels),
  );
  const annotated = fromAnnotations(pod, policy);
  if (rules.length === 0 && annotated.ids.size === 0)
    return { findings: [...findings], warnings: annotated.warnings };
  return {
    findings: findings.map((f) => {
      const rule = rules.find((r) => r.finding === f.id && mountMatches(r, f));
      if (rule) return { ...f, accepted: { reason: clipReason(rule.reason), source: 'config' } };
      if (annotated.ids.has(f.id))
        return { ...f, accepted: { reason: annotated.reason, source: 'annotation' } };
      return f;
    }),
    warnings: annotated.warnings,
  };
}

/** A rule without a host path takes any finding; one with it, only that mount's (read-only). */
function mountMatches(r: AcceptRule, f: Finding): boolean {
  if (r.hostPath === '') return true;
  if (f.mount === undefined) return false;
  const source = f.mount.source.replace(/\/+$/, '') || f.mount.source;
  return source === r.hostPath && (!r.readOnly || f.mount.readOnly);
}

/** Findings that count: the ones not accepted. */
export function unaccepted<T extends Pick<Finding, 'accepted'>>(findings: readonly T[]): T[] {
  return findings.filter((f) => f.accepted === undefined);
}
