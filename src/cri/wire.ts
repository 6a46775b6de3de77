/**
 * The protobuf messages of cri-subset.proto as @grpc/proto-loader decodes them (camelCase
 * fields, enums as strings, int64 as number, defaults filled in). Only fields nsreport reads.
 * These types never leave src/cri.
 */
export interface WireIdMapping {
  hostId: number;
  containerId: number;
  length: number;
}

export interface WireNamespaceOption {
  network: string;
  pid: string;
  ipc: string;
  targetId?: string;
  /** Absent from runtimes whose CRI predates user namespaces (k8s 1.25). */
  usernsOptions?: { mode: string; uids: WireIdMapping[]; gids: WireIdMapping[] } | null;
}

export interface WireMount {
  containerPath: string;
  hostPath: string;
  readonly: boolean;
  selinuxRelabel?: boolean;
  propagation: string;
  /** CRI ≥ 1.30 (KEP-3857); false from runtimes that do not know it. */
  recursiveReadOnly?: boolean;
}

export interface WirePodSandboxMetadata {
  name: string;
  uid: string;
  namespace: string;
  attempt: number;
}

export interface WirePodSandbox {
  id: string;
  metadata: WirePodSandboxMetadata | null;
  state: string;
  createdAt: number;
  labels: Record<string, string>;
  annotations?: Record<string, string>;
  runtimeHandler?: string;
}

export interface WirePodSandboxStatus {
  id: string;
  metadata: WirePodSandboxMetadata | null;
  state: string;
  network: { ip: string; additionalIps: { ip: string }[] } | null;
  linux: { namespaces: { options: WireNamespaceOption | null } | null } | null;
}

export interface WireImageSpec {
  image: string;
  /** The name the user wrote; kubelets ≥1.30 send it, runtimes that know it return it. */
  userSpecifiedImage?: string;
}

export interface WireContainer {
  id: string;
  podSandboxId: string;
  metadata: { name: string; attempt: number } | null;
  image: WireImageSpec | null;
  imageRef: string;
  state: string;
  createdAt: number;
  labels: Record<string, string>;
}

export interface WireContainerStatus {
  id: string;
  metadata: { name: string; attempt: number } | null;
  state: string;
  createdAt: number;
  startedAt: number;
  image: WireImageSpec | null;
  mounts: WireMount[];
  labels: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface WireVersionResponse {
  version: string;
  runtimeName: string;
  runtimeVersion: string;
  runtimeApiVersion: string;
}

export interface WireContainerEvent {
  containerId: string;
  containerEventType: string;
}
