/**
 * The CRI messages as @grpc/proto-loader decodes them (wire.ts), mapped to nsreport's domain
 * types (types.ts): pure, unit-tested on captures. Nothing protobuf-shaped leaves src/cri.
 */
import { parseContainerPorts, type VerboseContainerInfo, type VerboseSandboxInfo } from './info.js';
import type {
  ContainerDetail,
  ContainerEventType,
  ContainerState,
  ContainerSummary,
  DeclaredMount,
  DeclaredPropagation,
  NamespaceMode,
  SandboxDetail,
  SandboxSummary,
} from './types.js';
import type {
  WireContainer,
  WireContainerStatus,
  WireImageSpec,
  WireMount,
  WireNamespaceOption,
  WirePodSandbox,
  WirePodSandboxStatus,
} from './wire.js';

const PROPAGATION: Record<string, DeclaredPropagation> = {
  PROPAGATION_PRIVATE: 'None',
  PROPAGATION_HOST_TO_CONTAINER: 'HostToContainer',
  PROPAGATION_BIDIRECTIONAL: 'Bidirectional',
};
const CONTAINER_STATE: Record<string, ContainerState> = {
  CONTAINER_CREATED: 'created',
  CONTAINER_RUNNING: 'running',
  CONTAINER_EXITED: 'exited',
  CONTAINER_UNKNOWN: 'unknown',
};
/** A CRI ContainerState enum name as nsreport's state ('unknown' for anything else). */
export function containerState(wire: string | undefined): ContainerState {
  return CONTAINER_STATE[wire ?? ''] ?? 'unknown';
}

export const EVENT_TYPE: Record<string, ContainerEventType> = {
  CONTAINER_CREATED_EVENT: 'created',
  CONTAINER_STARTED_EVENT: 'started',
  CONTAINER_STOPPED_EVENT: 'stopped',
  CONTAINER_DELETED_EVENT: 'deleted',
};
const NS_MODES = new Set<string>(['POD', 'CONTAINER', 'NODE', 'TARGET']);

function nsMode(v: string | undefined): NamespaceMode {
  return v !== undefined && NS_MODES.has(v) ? (v as NamespaceMode) : 'POD';
}

/** The kubelet's annotation saying where a pod came from (pkg/kubelet/types/pod_update.go). */
const CONFIG_SOURCE = 'kubernetes.io/config.source';

function isStatic(annotations: Record<string, string> | undefined): boolean {
  return (annotations?.[CONFIG_SOURCE] ?? 'api') !== 'api';
}

/** An image ID (`sha256:…`, or a bare 64-hex ID) says nothing a person recognises. */
function isImageId(image: string): boolean {
  return /^(sha256:)?[0-9a-f]{64}$/.test(image);
}

/**
 * The image name a user wrote, from an ImageSpec: `user_specified_image` when the runtime keeps
 * it, else `image` unless that is only an ID. A kubelet passes the image ID as `image`
 * (kuberuntime_container.go); containerd 1.6's ContainerStatus puts the first repo tag back
 * (pkg/cri/server/container_status.go), ListContainers does not.
 */
export function imageName(spec: WireImageSpec | null | undefined): string | null {
  if (spec?.userSpecifiedImage) return spec.userSpecifiedImage;
  return spec?.image && !isImageId(spec.image) ? spec.image : null;
}

export function mapMount(m: WireMount): DeclaredMount {
  return {
    containerPath: m.containerPath,
    hostPath: m.hostPath,
    readOnly: m.readonly,
    propagation: PROPAGATION[m.propagation] ?? 'None',
    ...(m.recursiveReadOnly === true ? { recursiveReadOnly: true as const } : {}),
  };
}

/** A runtime handler's name as the CRI gives it ('' for the default), at most a DNS name long. */
function handlerName(v: unknown): string {
  return typeof v === 'string' ? v.slice(0, 253) : '';
}

export function mapSandbox(s: WirePodSandbox): SandboxSummary {
  const md = s.metadata;
  const labels = s.labels;
  return {
    id: s.id,
    pod: {
      name: md?.name ?? labels['io.kubernetes.pod.name'] ?? '',
      namespace: md?.namespace ?? labels['io.kubernetes.pod.namespace'] ?? '',
      uid: md?.uid ?? labels['io.kubernetes.pod.uid'] ?? '',
    },
    state: s.state === 'SANDBOX_READY' ? 'ready' : 'notready',
    createdAt: s.createdAt,
    labels,
    annotations: Object.fromEntries(
      Object.entries(s.annotations ?? {}).filter(([k]) => k.startsWith('nsreport.dev/')),
    ),
    static: isStatic(s.annotations),
    runtimeHandler: handlerName(s.runtimeHandler),
  };
}

/**
 * The user namespace asked for: POD (`hostUsers: false`) or NODE; nothing when the runtime's
 * CRI has no `userns_options` (containerd 1.6 drops it; proto-loader then gives null).
 */
function usernsMode(
  o: WireNamespaceOption['usernsOptions'],
): Pick<SandboxDetail['declared'], 'user'> {
  if (o === undefined || o === null) return {};
  return { user: o.mode === 'POD' ? 'POD' : 'NODE' };
}

export function mapSandboxStatus(
  s: WirePodSandboxStatus,
  info: VerboseSandboxInfo = { pid: 0, netnsPath: null },
): SandboxDetail {
  const opts: Partial<WireNamespaceOption> = s.linux?.namespaces?.options ?? {};
  const ips = [s.network?.ip ?? '', ...(s.network?.additionalIps ?? []).map((a) => a.ip)];
  return {
    id: s.id,
    declared: {
      network: nsMode(opts.network),
      pid: nsMode(opts.pid),
      ipc: nsMode(opts.ipc),
      ...usernsMode(opts.usernsOptions),
    },
    ips: ips.filter((ip) => ip !== ''),
    infraPid: info.pid,
    netnsPath: info.netnsPath,
    ...(info.runtimeType !== undefined ? { runtimeType: info.runtimeType } : {}),
  };
}

export function mapContainer(c: WireContainer): ContainerSummary {
  return {
    id: c.id,
    sandboxId: c.podSandboxId,
    name: c.metadata?.name ?? c.labels['io.kubernetes.container.name'] ?? '',
    image: imageName(c.image) ?? c.image?.image ?? c.imageRef,
    state: containerState(c.state),
    createdAt: c.createdAt,
  };
}

/** ContainerStatus(verbose): its status message and the verbose info, as parsed (info.ts). */
export function mapContainerStatus(
  id: string,
  s: WireContainerStatus | null,
  info: VerboseContainerInfo,
): ContainerDetail {
  const status: Partial<WireContainerStatus> = s ?? {};
  return {
    id,
    state: containerState(status.state),
    pid: info.pid,
    createdAt: status.createdAt ?? 0,
    startedAt: status.startedAt ?? 0,
    mounts: (status.mounts ?? []).map(mapMount),
    image: imageName(status.image),
    imageAsWritten: (status.image?.userSpecifiedImage ?? '') !== '',
    privileged: info.privileged,
    uid: info.uid,
    rootfsPropagation: info.rootfsPropagation,
    hostPorts: parseContainerPorts(status.annotations, status.metadata?.name ?? ''),
    declaredGroups: info.declaredGroups,
  };
}

/** The write path used by the test lab (kubelet's role); not part of RuntimeClient. */
