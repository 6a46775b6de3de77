import {
  OPENREPORTS_GROUP,
  OPENREPORTS_PLURAL,
  OPENREPORTS_VERSION,
} from '../report/openreport.js';
import { API_GROUP, PLURAL, VERSION } from '../report/types.js';
import type { Resource } from './rest.js';

/** Every API resource nsreport reads or writes; the names come from the report contract. */
export const REPORTS: Resource = { group: API_GROUP, version: VERSION, plural: PLURAL };
export const OPEN_REPORTS: Resource = {
  group: OPENREPORTS_GROUP,
  version: OPENREPORTS_VERSION,
  plural: OPENREPORTS_PLURAL,
};
export const NODES: Resource = { group: '', version: 'v1', plural: 'nodes' };
export const NAMESPACES: Resource = { group: '', version: 'v1', plural: 'namespaces' };
export const PODS: Resource = { group: '', version: 'v1', plural: 'pods' };
export const DAEMONSETS: Resource = { group: 'apps', version: 'v1', plural: 'daemonsets' };
export const RUNTIMECLASSES: Resource = {
  group: 'node.k8s.io',
  version: 'v1',
  plural: 'runtimeclasses',
};

/**
 * A mirror Pod's annotation naming the static pod it mirrors by the static pod's UID (the
 * kubelet's hash of its manifest, the sandbox's UID in CRI): kubernetes v1.35
 * pkg/kubelet/pod/mirror_client.go, pkg/kubelet/types/pod_update.go.
 */
export const MIRROR_ANNOTATION = 'kubernetes.io/config.mirror';

/** The object metadata nsreport reads back from the API. */
export interface KubernetesObject {
  metadata?: {
    namespace?: string;
    name?: string;
    uid?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
}
