import type { IsolationAsks } from './features.js';
import type { AgentDaemonSet, NodeInfo } from './scope.js';

/**
 * What the audit reads from a cluster (src/k8s/cluster.ts reads it over the API; unit tests use a
 * fake). Lists are read page by page and handed over one page at a time. What the caller may not
 * read is `false`/`null`; other errors are thrown (the API client's ApiError).
 */
export interface ClusterReader {
  readonly server: string;
  eachReportPage(
    o: { namespace: string | null; labelSelector: string; pageSize: number },
    /** Objects as the API lists them, unchecked: the audit checks each (integrity.ts). */
    onPage: (items: readonly unknown[]) => void,
  ): Promise<void>;
  /** Every pod, page by page; false when not allowed to list pods. */
  eachPodPage(
    o: { namespace: string | null; pageSize: number },
    onPage: (pods: PodSummary[]) => void,
  ): Promise<boolean>;
  /** The agent DaemonSets (label app.kubernetes.io/name=nsreport); null when not allowed. */
  agentDaemonSets(): Promise<AgentDaemonSet[] | null>;
  /** Every node's labels, taints and runtime features; null when not allowed. */
  nodes(): Promise<Map<string, NodeInfo> | null>;
  /** RuntimeClass name → its CRI handler; null when not allowed. */
  runtimeClasses(): Promise<Map<string, string> | null>;
}

/** A Pod as the audit holds reports against it: who it is, where and how it runs. */
export interface PodSummary {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  /** A mirror Pod's `kubernetes.io/config.mirror`: the static pod's UID in CRI ('' otherwise). */
  readonly mirrorOf: string;
  /** spec.nodeName ('' while unscheduled). */
  readonly node: string;
  /** status.phase: a finished pod (Succeeded, Failed) is not expected to have a report. */
  readonly phase: string;
  readonly hostNetwork: boolean;
  readonly hostPID: boolean;
  readonly hostIPC: boolean;
  /** What it asks of the newer isolation features; absent when nothing. */
  readonly asks?: IsolationAsks;
}
