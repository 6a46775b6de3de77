import type { FindingId } from './catalogue.js';
import type {
  ContainerDetail,
  ContainerState,
  ContainerSummary,
  DeclaredNamespaces,
  PortMapping,
  DeclaredPropagation,
  PodIdentity,
  RuntimeVersion,
  SandboxDetail,
  SandboxState,
  SandboxSummary,
} from '../cri/types.js';
import type { MountInfo, ObservedPropagation } from '../procfs/mountinfo.js';
import type { NamespaceSet, NamespaceType } from '../procfs/namespaces.js';
import type { NetworkInterface } from '../procfs/net.js';
import type { SocketProtocol } from '../procfs/net.js';
import type { ProcessIdentity } from '../procfs/reader.js';
import type { ReadResult } from '../procfs/result.js';
import type {
  GroupsObservation,
  ProcMountObservation,
  UserNamespaceObservation,
} from './isolation.js';

/** Observed sharing with the host: 'unknown' when the host reference or the process was unreadable. */
export type Tristate = 'true' | 'false' | 'unknown';

/** Severities from none to the worst; a finding's severity is one of them but `none`. */
export const SEVERITY_ORDER = ['none', 'low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITY_ORDER)[number];

/** The process whose namespaces and mounts stand for "the host" (--host-pid). */
export interface HostReference {
  readonly pid: number;
  readonly namespaces: ReadResult<NamespaceSet>;
  readonly mountinfo: ReadResult<MountInfo[]>;
}

/** A process of a container other than its init (found by its cgroup), with its namespaces. */
export interface ProcessSample {
  readonly pid: number;
  /** Its command name: chosen by the process, hostile text. */
  readonly comm: string;
  readonly namespaces: ReadResult<NamespaceSet>;
}

/** Everything collected for one container: CRI facts and procfs samples. */
export interface ContainerSample {
  readonly summary: ContainerSummary;
  /** ContainerStatus; null when it failed (see `error`). */
  readonly detail: ContainerDetail | null;
  readonly error: string | null;
  /** null when the container has no process to read (not running, or PID unknown). */
  readonly namespaces: ReadResult<NamespaceSet> | null;
  readonly mountinfo: ReadResult<MountInfo[]> | null;
  /** Declared destination → the path it resolves to in the container's root (symlinks). */
  readonly resolved?: ReadonlyMap<string, string>;
  /** Its other processes (by cgroup); absent when not read. */
  readonly processes?: readonly ProcessSample[];
  /** Its first process's groups, and its user namespace's maps when it has its own. */
  readonly identity?: ReadResult<ProcessIdentity>;
  /** Run by a sandboxed runtime handler: its host PID is the sandbox's, nothing read there. */
  readonly sandboxed?: true;
}

export interface SandboxSample {
  readonly summary: SandboxSummary;
  readonly detail: SandboxDetail | null;
  readonly error: string | null;
  readonly containers: readonly ContainerSample[];
  /**
   * The pod's network namespace when no container of it runs: through its infra process, or
   * the namespace the runtime pinned (CRI-O without an infra process); absent otherwise.
   */
  readonly network?: { readonly inode: number; readonly via: 'infra' | 'pinned' };
}

export interface Listener {
  readonly protocol: SocketProtocol;
  readonly address: string;
  readonly port: number;
  /** Name of the container holding the socket; '' when no container process holds it. */
  readonly container: string;
  /**
   * Id of that container ('' when none): what tells apart two hostNetwork pods whose
   * containers share a name. Not in the report (the container's name and id are there).
   */
  readonly containerId: string;
}

/** A network namespace as observed once per scan, listeners attributed to container names. */
export interface NetworkObservation {
  readonly interfaces: readonly NetworkInterface[];
  readonly listeners: readonly Listener[];
}

/** The input of the pure core: one scan of one node. */
export interface Snapshot {
  readonly node: string;
  readonly runtime: RuntimeVersion;
  readonly host: HostReference;
  readonly sandboxes: readonly SandboxSample[];
  /** Keyed by network namespace inode. */
  readonly networks: ReadonlyMap<number, NetworkObservation>;
}

export interface NamespaceObservation {
  readonly inode: number;
  readonly sharedWithHost: Tristate;
}

export interface MountObservation {
  readonly destination: string;
  readonly source: string;
  readonly readOnly: boolean;
  readonly declaredPropagation: DeclaredPropagation;
  /** 'unknown' when mountinfo was unreadable, 'absent' when nothing is mounted there. */
  readonly observedPropagation: ObservedPropagation | 'unknown' | 'absent';
  /** Propagation of the host mount that holds the source, in the host reference's mountinfo. */
  readonly hostPropagation: ObservedPropagation | 'unknown';
  readonly consistent: boolean;
  /**
   * Why a propagation other than the declared one is expected: 'rootfs-rshared' when the runtime
   * made the container's root rshared (it has a Bidirectional mount) and runc propagated that to
   * this mount.
   */
  readonly explained?: 'rootfs-rshared';
  /** The mount is idmapped (a user-namespaced pod's kubelet volumes). */
  readonly idmapped?: true;
  /** The pod asked for it recursively read-only (CRI `recursive_read_only`). */
  readonly recursiveReadOnly?: true;
  /** Writable mounts below a read-only mount (recursive read-only not in effect). */
  readonly writableSubmounts?: readonly string[];
}

/**
 * A process of a container that lives in a namespace of another: the host's, or another pod's
 * (a privileged container's `nsenter`). One entry per process and namespace type.
 */
export interface EscapedProcess {
  readonly pid: number;
  readonly comm: string;
  readonly namespace: NamespaceType;
  /** `host`, or the `namespace/name` of the pod whose namespace it is in. */
  readonly into: string;
}

export interface ContainerInspection {
  readonly name: string;
  readonly id: string;
  readonly image: string;
  /**
   * The image is a runtime's name for it, not what the user wrote (the agent then takes the
   * Pod spec's); not in the report.
   */
  readonly imageFromRuntime?: true;
  readonly pid: number;
  readonly state: ContainerState;
  readonly privileged: boolean;
  /** uid of the container's process (runtime spec); absent when the runtime does not say. */
  readonly uid?: number;
  /** The runtime spec's rootfs propagation, when set (rshared, rslave…). */
  readonly rootfsPropagation?: string;
  readonly namespaces: Partial<Record<NamespaceType, NamespaceObservation>>;
  readonly mounts: readonly MountObservation[];
  /** Its processes in the host's or another pod's namespaces; absent when none. */
  readonly escaped?: readonly EscapedProcess[];
  /** Its own user namespace's maps; absent in the host's (or when unread). */
  readonly userNamespace?: UserNamespaceObservation;
  /** The host uid its root runs as; absent when not known. */
  readonly rootHostUid?: number | null;
  /** Its /proc as its mount table shows it; absent when not running. */
  readonly procMount?: ProcMountObservation;
  /** The groups of its first process; absent when unread. */
  readonly groups?: GroupsObservation;
  /**
   * Run in a sandbox (gVisor, Kata): the host PID is the sandbox's, and its namespaces are not
   * reported as the container's.
   */
  readonly sandboxed?: true;
  readonly error?: string;
}

/** Who accepted a finding, and why: the admin's configuration or a pod annotation it allows. */
export interface Acceptance {
  readonly reason: string;
  readonly source: 'config' | 'annotation';
}

export interface Finding {
  readonly id: FindingId;
  readonly severity: Exclude<Severity, 'none'>;
  readonly container?: string;
  readonly message: string;
  /** Present when accepted: the finding stays, but no longer counts toward severity. */
  readonly accepted?: Acceptance;
  /** The mount a mount's finding is about (for acceptance by host path; not reported). */
  readonly mount?: { readonly source: string; readonly readOnly: boolean };
}

export interface PodInspection {
  readonly node: string;
  readonly pod: PodIdentity;
  /** A static pod: `pod.uid` is the kubelet's manifest hash, not the mirror Pod's UID. */
  readonly static: boolean;
  readonly runtime: { readonly name: string; readonly version: string };
  readonly sandbox: {
    readonly id: string;
    readonly state: SandboxState;
    /** The CRI runtime handler (RuntimeClass), when not the default. */
    readonly runtimeHandler?: string;
  };
  readonly hostNamespaces: {
    readonly network: Tristate;
    readonly pid: Tristate;
    readonly ipc: Tristate;
  };
  readonly declared: DeclaredNamespaces;
  readonly network: {
    readonly netns: number | null;
    readonly interfaces: readonly NetworkInterface[];
    readonly listeners: readonly Listener[];
    /** Declared port mappings with a host port (CNI portmap). */
    readonly hostPorts: readonly PortMapping[];
  };
  /** The pod's labels as the sandbox carries them (for acceptance selectors; not reported). */
  readonly labels: Readonly<Record<string, string>>;
  /** The pod's `nsreport.dev/*` annotations (not reported). */
  readonly annotations: Readonly<Record<string, string>>;
  readonly containers: readonly ContainerInspection[];
  readonly findings: readonly Finding[];
  /** Problems with acceptance annotations: said in the report, never fatal. */
  readonly warnings?: readonly string[];
  readonly error?: string;
}
