/**
 * Domain types of the CRI adapter. Nothing protobuf-shaped leaves src/cri: the rest of nsreport
 * sees only these.
 */

/**
 * How a pod namespace is declared in the sandbox's CRI NamespaceOption; UNKNOWN when the
 * sandbox's status could not be read (never guessed).
 */
export type NamespaceMode = 'POD' | 'CONTAINER' | 'NODE' | 'TARGET' | 'UNKNOWN';

/** Declared propagation, named as in the Pod API (`mountPropagation`). */
export type DeclaredPropagation = 'None' | 'HostToContainer' | 'Bidirectional';

export type SandboxState = 'ready' | 'notready';
export type ContainerState = 'created' | 'running' | 'exited' | 'unknown';

export interface RuntimeVersion {
  readonly name: string;
  readonly version: string;
  readonly apiVersion: string;
}

export interface PodIdentity {
  readonly name: string;
  readonly namespace: string;
  readonly uid: string;
}

/** One entry of ListPodSandbox. */
export interface SandboxSummary {
  readonly id: string;
  readonly pod: PodIdentity;
  readonly state: SandboxState;
  readonly createdAt: number;
  readonly labels: Readonly<Record<string, string>>;
  /** The pod's `nsreport.dev/*` annotations (acceptance); others are not kept. */
  readonly annotations: Readonly<Record<string, string>>;
  /**
   * A static pod (kubelet annotation `kubernetes.io/config.source` other than `api`): its uid is
   * the kubelet's hash of the manifest, not the UID of the mirror Pod in the API.
   */
  readonly static: boolean;
  /** The CRI runtime handler (RuntimeClass `handler`); '' for the runtime's default. */
  readonly runtimeHandler: string;
}

export interface DeclaredNamespaces {
  readonly network: NamespaceMode;
  readonly pid: NamespaceMode;
  readonly ipc: NamespaceMode;
  /**
   * The user namespace asked for (CRI `userns_options.mode`: POD for `hostUsers: false`, NODE
   * otherwise); absent when the runtime's CRI does not carry it.
   */
  readonly user?: 'POD' | 'NODE';
}

/** PodSandboxStatus: what a sandbox declares; immutable for the sandbox's life. */
export interface SandboxDetail {
  readonly id: string;
  readonly declared: DeclaredNamespaces;
  /** Pod IPs the runtime reports (informational). */
  readonly ips: readonly string[];
  /**
   * The infra (pause) process's host PID from the verbose status; 0 when there is none (CRI-O
   * runs no infra process for pods without a pod-level PID namespace). Only the pod's network
   * view is read through it, when no container of the pod runs; never a container's PID.
   */
  readonly infraPid?: number;
  /** The pod's network namespace as the runtime pinned it (a host path), when said. */
  readonly netnsPath?: string | null;
  /** containerd's shim type for the sandbox, when said (`io.containerd.runsc.v1`: gVisor). */
  readonly runtimeType?: string;
}

export interface PortMapping {
  readonly protocol: 'TCP' | 'UDP' | 'SCTP';
  readonly containerPort: number;
  readonly hostPort: number;
  /** '' for every address of the node. */
  readonly hostIp: string;
  /** The container that declares the port. */
  readonly container?: string;
}

/** One entry of ListContainers. */
export interface ContainerSummary {
  readonly id: string;
  readonly sandboxId: string;
  readonly name: string;
  readonly image: string;
  readonly state: ContainerState;
  readonly createdAt: number;
}

export interface DeclaredMount {
  readonly containerPath: string;
  readonly hostPath: string;
  readonly readOnly: boolean;
  readonly propagation: DeclaredPropagation;
  /** CRI `recursive_read_only` (`recursiveReadOnly: Enabled`, or IfPossible where supported). */
  readonly recursiveReadOnly?: true;
}

/** Group IDs of a container's first process, as IDs inside the container. */
export interface GroupIds {
  readonly gid: number | null;
  readonly supplementary: readonly number[];
}

/** ContainerStatus(verbose) reduced to what nsreport uses. */
export interface ContainerDetail {
  readonly id: string;
  /** The state ContainerStatus gives (ListContainers may be a moment older). */
  readonly state: ContainerState;
  /**
   * Host PID of the container's init process as the runtime's verbose info says; 0 when not
   * reported. Only a running container's, and only while that process is the one the container
   * started (see collect/scanner.ts): CRI-O keeps an exited container's old PID here.
   */
  readonly pid: number;
  /** When the container was created and started, ns since the epoch (0: not said). */
  readonly createdAt: number;
  readonly startedAt: number;
  readonly mounts: readonly DeclaredMount[];
  /**
   * The image: as the user wrote it when the runtime keeps that (CRI `user_specified_image`),
   * else a name the runtime has for it (containerd 1.x puts the image's first repo tag back,
   * CRI-O "some name of the image": another tag of the same image ID may be it); null when only
   * an image ID is known.
   */
  readonly image: string | null;
  /** The image is the user's own words (`user_specified_image`), not a runtime's name for it. */
  readonly imageAsWritten: boolean;
  /** null when the runtime's verbose info does not say. */
  readonly privileged: boolean | null;
  /** uid of the container's process in the OCI runtime spec; null when not said. */
  readonly uid: number | null;
  /** The spec's `linux.rootfsPropagation` (rshared with a Bidirectional mount); null if unset. */
  readonly rootfsPropagation: string | null;
  /** Ports with a host port the kubelet declared for this container (its annotation). */
  readonly hostPorts: readonly PortMapping[];
  /**
   * The groups the container's config asks for (runAsGroup, supplementalGroups with fsGroup):
   * containerd's verbose info; null when the runtime does not say (CRI-O).
   */
  readonly declaredGroups: GroupIds | null;
}

export type ContainerEventType = 'created' | 'started' | 'stopped' | 'deleted';

export interface ContainerEvent {
  readonly containerId: string;
  readonly type: ContainerEventType;
}

/** The read side of a CRI runtime, as nsreport needs it. */
export interface RuntimeClient {
  readonly endpoint: string;
  version(): Promise<RuntimeVersion>;
  listSandboxes(): Promise<SandboxSummary[]>;
  sandboxStatus(id: string): Promise<SandboxDetail>;
  listContainers(): Promise<ContainerSummary[]>;
  containerStatus(id: string): Promise<ContainerDetail>;
  /** Streams container events until the signal aborts; rejects with CriError (e.g. unimplemented). */
  watchEvents(onEvent: (e: ContainerEvent) => void, signal: AbortSignal): Promise<void>;
  close(): void;
}
