import { createHash } from 'node:crypto';
import type { PodInspection } from '../inspect/types.js';
import { contentHash, labelValue, ownerOf, ownerReferences } from './report.js';
import {
  ANNOTATION_CONTENT_HASH,
  LABEL_MANAGED_BY,
  MANAGER,
  LABEL_NODE,
  type ObjectMetadata,
} from './types.js';

/**
 * Findings in the OpenReports format (`openreports.io/v1alpha1` Report, the successor of the
 * wg-policy `wgpolicyk8s.io` PolicyReport, which Policy Reporter picks up when its CRD is
 * installed and Kyverno ≥ 1.15 can write): one Report per pod that has a finding that is not
 * accepted, `source: nsreport`, scope the Pod, one result per finding with the rule id as
 * policy. Accepted findings are results too, `skip`, with the reason in their properties.
 * Fields from github.com/openreports/reports-api v0.2.1 (apis/openreports.io/v1alpha1).
 */

export const OPENREPORTS_GROUP = 'openreports.io';
export const OPENREPORTS_VERSION = 'v1alpha1';
export const OPENREPORTS_PLURAL = 'reports';
export const OPENREPORTS_API_VERSION = `${OPENREPORTS_GROUP}/${OPENREPORTS_VERSION}` as const;

export interface OpenReportResult {
  source: typeof MANAGER;
  policy: string;
  category: string;
  severity: 'critical' | 'high' | 'medium' | 'low';
  result: 'fail' | 'skip';
  message: string;
  properties?: Record<string, string>;
}

export interface OpenReport {
  apiVersion: typeof OPENREPORTS_API_VERSION;
  kind: 'Report';
  metadata: ObjectMetadata;
  source: typeof MANAGER;
  scope: { apiVersion: 'v1'; kind: 'Pod'; name: string; namespace: string; uid?: string };
  summary: { pass: number; fail: number; warn: number; error: number; skip: number };
  results: OpenReportResult[];
}

/** `nsreport-<pod>`, or a readable prefix and a hash when that passes 253 characters. */
export function openReportName(pod: string): string {
  const name = `nsreport-${pod}`;
  if (name.length <= 253) return name;
  const digest = createHash('sha256').update(pod).digest('hex').slice(0, 12);
  return `${name.slice(0, 240).replace(/[.-]+$/, '')}-${digest}`;
}

/** The Report of a pod, or null when it has no finding that counts (none, or all accepted). */
export function buildOpenReport(pod: PodInspection, nodeUid: string | null): OpenReport | null {
  if (!pod.findings.some((f) => f.accepted === undefined)) return null;
  const results: OpenReportResult[] = pod.findings.map((f) => {
    const properties: Record<string, string> = { node: pod.node };
    if (f.container !== undefined) properties.container = f.container;
    if (f.accepted) {
      properties.acceptedReason = f.accepted.reason;
      properties.acceptedBy = f.accepted.source;
    }
    return {
      source: MANAGER,
      policy: f.id,
      category: 'Pod isolation',
      severity: f.severity,
      result: f.accepted ? 'skip' : 'fail',
      message: f.container !== undefined ? `${f.container}: ${f.message}` : f.message,
      properties,
    };
  });
  const fail = results.filter((r) => r.result === 'fail').length;
  const owner = ownerOf(pod, nodeUid);
  const report: OpenReport = {
    apiVersion: OPENREPORTS_API_VERSION,
    kind: 'Report',
    metadata: {
      name: openReportName(pod.pod.name),
      namespace: pod.pod.namespace,
      labels: { [LABEL_MANAGED_BY]: MANAGER, [LABEL_NODE]: labelValue(pod.node) },
      annotations: {},
      ...ownerReferences(owner),
    },
    source: MANAGER,
    // A static pod's CRI uid is the kubelet's manifest hash, not its mirror Pod's UID.
    scope: {
      apiVersion: 'v1',
      kind: 'Pod',
      name: pod.pod.name,
      namespace: pod.pod.namespace,
      ...(pod.static || pod.pod.uid === '' ? {} : { uid: pod.pod.uid }),
    },
    summary: { pass: 0, fail, warn: 0, error: 0, skip: results.length - fail },
    results,
  };
  const { source, scope, summary } = report;
  report.metadata.annotations[ANNOTATION_CONTENT_HASH] = contentHash({
    metadata: report.metadata,
    report: { source, scope, summary, results },
  });
  return report;
}
