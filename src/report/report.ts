import { createHash } from 'node:crypto';
import { effectiveHost, highestSeverity } from '../inspect/findings.js';
import type { ContainerInspection, PodInspection } from '../inspect/types.js';
import {
  ANNOTATION_CONTENT_HASH,
  API_VERSION,
  KIND,
  LABEL_HOST_IPC,
  LABEL_HOST_NETWORK,
  LABEL_HOST_PID,
  LABEL_MANAGED_BY,
  LABEL_NODE,
  LABEL_SEVERITY,
  type NamespaceReport,
  type ReportBody,
} from './types.js';

/**
 * Size caps. etcd refuses objects over 1.5 MiB; a report stays far below: lists are capped and
 * `truncated: true` says something was left out.
 */
export const LIMITS = {
  containers: 64,
  mountsPerContainer: 64,
  listeners: 64,
  interfaces: 32,
  addressesPerInterface: 16,
  findings: 128,
  /** Serialized size above which the report is cut down further. */
  bytes: 256 * 1024,
  /** Mounts per container and listeners kept when the report is still too large. */
  fallbackItems: 8,
  /** Free text (errors, finding messages, image names): the CRD's maxLength. */
  text: 1024,
} as const;

/** Cuts free text to the CRD's maxLength, marking the cut. */
function clip(s: string): string {
  return s.length <= LIMITS.text ? s : s.slice(0, LIMITS.text - 1) + '…';
}

function cap<T>(items: readonly T[], max: number, cut: { truncated: boolean }): T[] {
  if (items.length > max) cut.truncated = true;
  return items.slice(0, max);
}

/** A valid label value (≤63 chars, alphanumeric at both ends). */
export function labelValue(s: string): string {
  return s
    .replace(/[^A-Za-z0-9._-]/g, '-')
    .slice(0, 63)
    .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
}

function capContainers(
  containers: readonly ContainerInspection[],
  mounts: number,
  cut: { truncated: boolean },
): ContainerInspection[] {
  return cap(containers, LIMITS.containers, cut).map((c) => ({
    ...c,
    image: clip(c.image),
    mounts: cap(c.mounts, mounts, cut),
    ...(c.error !== undefined ? { error: clip(c.error) } : {}),
  }));
}

function body(pod: PodInspection, mounts: number, listeners: number): ReportBody {
  const cut = { truncated: false };
  const containers = capContainers(pod.containers, mounts, cut);
  const interfaces = cap(pod.network.interfaces, LIMITS.interfaces, cut).map((i) => ({
    name: i.name,
    ipv4: cap(i.ipv4, LIMITS.addressesPerInterface, cut),
    ipv6: cap(i.ipv6, LIMITS.addressesPerInterface, cut),
  }));
  const findings = cap(pod.findings, LIMITS.findings, cut).map((f) => ({
    ...f,
    message: clip(f.message),
  }));
  return {
    node: pod.node,
    pod: { ...pod.pod },
    runtime: { ...pod.runtime },
    sandbox: { ...pod.sandbox },
    hostNamespaces: { ...pod.hostNamespaces },
    declared: { ...pod.declared },
    network: {
      netns: pod.network.netns,
      interfaces,
      listeners: cap(pod.network.listeners, listeners, cut),
    },
    containers,
    findings,
    summary: {
      containers: pod.containers.length,
      mounts: pod.containers.reduce((n, c) => n + c.mounts.length, 0),
      findings: pod.findings.length,
      highestSeverity: highestSeverity(pod.findings),
    },
    truncated: cut.truncated,
    ...(pod.error !== undefined ? { error: clip(pod.error) } : {}),
  };
}

/** sha256 of the serialized object; equal hashes mean no API write is needed. */
function contentHash(json: string): string {
  return 'sha256:' + createHash('sha256').update(json).digest('hex').slice(0, 32);
}

/** The NamespaceReport object for one pod (pure, deterministic). */
export function buildReport(pod: PodInspection): NamespaceReport {
  // Serialized once for both the size check and the hash (the hot path of a steady rescan).
  let obj = assemble(pod, body(pod, LIMITS.mountsPerContainer, LIMITS.listeners));
  let json = JSON.stringify(obj);
  if (json.length > LIMITS.bytes) {
    obj = assemble(pod, {
      ...body(pod, LIMITS.fallbackItems, LIMITS.fallbackItems),
      truncated: true,
    });
    json = JSON.stringify(obj);
  }
  obj.metadata.annotations[ANNOTATION_CONTENT_HASH] = contentHash(json);
  return obj;
}

function assemble(pod: PodInspection, report: ReportBody): NamespaceReport {
  const labels = {
    [LABEL_MANAGED_BY]: 'nsreport',
    [LABEL_NODE]: labelValue(pod.node),
    [LABEL_HOST_NETWORK]: String(effectiveHost(pod.hostNamespaces.network, pod.declared.network)),
    [LABEL_HOST_PID]: String(effectiveHost(pod.hostNamespaces.pid, pod.declared.pid)),
    [LABEL_HOST_IPC]: String(effectiveHost(pod.hostNamespaces.ipc, pod.declared.ipc)),
    [LABEL_SEVERITY]: report.summary.highestSeverity,
  };
  const metadata: NamespaceReport['metadata'] = {
    name: pod.pod.name,
    namespace: pod.pod.namespace,
    labels,
    annotations: {},
    ...(pod.pod.uid !== ''
      ? {
          ownerReferences: [
            {
              apiVersion: 'v1' as const,
              kind: 'Pod' as const,
              name: pod.pod.name,
              uid: pod.pod.uid,
              controller: false as const,
              blockOwnerDeletion: false as const,
            },
          ],
        }
      : {}),
  };
  return { apiVersion: API_VERSION, kind: KIND, metadata, report };
}
