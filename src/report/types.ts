import type {
  DeclaredNamespaces,
  DeclaredPropagation,
  PodIdentity,
  PortMapping,
  SandboxState,
} from '../cri/types.js';
import type { NamespaceType } from '../procfs/namespaces.js';
/** The keys of a container's `namespaces`, in the order /proc/<pid>/ns lists them. */
export { NAMESPACE_TYPES, type NamespaceType } from '../procfs/namespaces.js';
import type {
  ContainerInspection,
  Finding,
  Listener,
  MountObservation,
  Severity,
  Tristate,
} from '../inspect/types.js';
import type { KubeletVolume } from '../inspect/kubelet-paths.js';
import type { NetworkInterface } from '../procfs/net.js';

/*
 * The vocabulary of the NamespaceReport contract (manifests/crd.yaml): its group, version, kind and
 * plural, and the keys and values of the labels and annotations nsreport writes and selects by.
 * Nothing else spells them; src/k8s/resources.ts makes the REST resources from them.
 */
export const API_GROUP = 'nsreport.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${API_GROUP}/${VERSION}` as const;
export const KIND = 'NamespaceReport';
export const PLURAL = 'namespacereports';

/** The writer's name: the managed-by label's value, the field manager, the OpenReports source. */
export const MANAGER = 'nsreport';
export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
/** The chart labels its DaemonSet with it; the audit and `version` find the agents by it. */
export const AGENT_SELECTOR = `app.kubernetes.io/name=${MANAGER}`;
export const LABEL_VERSION = 'app.kubernetes.io/version';
export const LABEL_NODE = `${API_GROUP}/node`;
export const LABEL_HOST_NETWORK = `${API_GROUP}/host-network`;
export const LABEL_HOST_PID = `${API_GROUP}/host-pid`;
export const LABEL_HOST_IPC = `${API_GROUP}/host-ipc`;
export const LABEL_SEVERITY = `${API_GROUP}/severity`;
/** On OpenReports Reports: the hash of what nsreport wrote (their content is not recomputed). */
export const ANNOTATION_CONTENT_HASH = `${API_GROUP}/content-hash`;

/**
 * A mount as reported: a volume the kubelet made for the pod is said by name and type (its host
 * path, `<kubelet root>/pods/<pod uid>/volumes/kubernetes.io~<type>/<name>`, follows from them
 * and is a quarter of a plain pod's report); any other source by its host path.
 */
export type ReportMount = Omit<MountObservation, 'source' | 'readOnly' | 'declaredPropagation'> & {
  /** Said only when true, like every boolean of the report. */
  readOnly?: true;
  /** Said only when not None, as in a Pod's volumeMount. */
  declaredPropagation?: Exclude<DeclaredPropagation, 'None'>;
} & ({ source: string; volume?: never } | { volume: KubeletVolume; source?: never });

/** A namespace as reported: `sharedWithHost` only when "true" or "unknown" (absent: not the host's). */
export interface ReportNamespace {
  inode: number;
  sharedWithHost?: Exclude<Tristate, 'false'>;
}

export type ReportContainer = Omit<
  ContainerInspection,
  'mounts' | 'privileged' | 'rootHostUid' | 'procMount' | 'imageFromRuntime' | 'namespaces'
> & {
  namespaces: Partial<Record<NamespaceType, ReportNamespace>>;
  privileged?: true;
  /** Said only when Unmasked. */
  procMount?: 'Unmasked';
  mounts: ReportMount[];
};

/** The `report` body of a NamespaceReport (docs/reference.md, "The NamespaceReport"; the CRD schema). */
export interface ReportBody {
  node: string;
  /** The pod's name and namespace are the report's own (metadata). */
  pod: Pick<PodIdentity, 'uid'>;
  runtime: { name: string; version: string };
  sandbox: { id: string; state: SandboxState; runtimeHandler?: string };
  hostNamespaces: { network: Tristate; pid: Tristate; ipc: Tristate };
  declared: DeclaredNamespaces;
  network: {
    netns: number | null;
    interfaces: NetworkInterface[];
    listeners: Omit<Listener, 'containerId'>[];
    /** Only when the pod maps host ports. */
    hostPorts?: PortMapping[];
  };
  containers: ReportContainer[];
  findings: ReportFinding[];
  summary: {
    containers: number;
    mounts: number;
    /** Findings that count (not accepted). */
    findings: number;
    /** Accepted findings (still listed in `findings`, marked). */
    accepted: number;
    /** The highest severity among findings that are not accepted. */
    highestSeverity: Severity;
  };
  /** Present (true) when lists were cut to keep the report small. */
  truncated?: true;
  /** Problems with the pod's acceptance annotations. */
  warnings?: string[];
  error?: string;
}

/** Never a controller, never blocking: `controller` and `blockOwnerDeletion` absent. */
export interface OwnerReference {
  apiVersion: 'v1';
  kind: 'Pod' | 'Node';
  name: string;
  uid: string;
}

/**
 * A finding as a report says it: its id a string, since a report read back may be a newer
 * agent's (an id this release does not know); the mount it was about is not written.
 */
export type ReportFinding = Omit<Finding, 'id' | 'mount'> & { readonly id: string };

/** The metadata nsreport writes on its objects (NamespaceReports, OpenReports Reports). */
export interface ObjectMetadata {
  name: string;
  namespace: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  ownerReferences?: OwnerReference[];
}

/** The custom resource as nsreport writes it: one per pod, same name and namespace. */
export interface NamespaceReport {
  apiVersion: typeof API_VERSION;
  kind: typeof KIND;
  /** No annotations: nsreport says nothing there. */
  metadata: Omit<ObjectMetadata, 'annotations'>;
  report: ReportBody;
}
