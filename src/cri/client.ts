import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { CriError, kindFromGrpc } from './errors.js';
import { checkSocket, grpcTarget } from './endpoint.js';
import { parseContainerInfo, parseContainerPorts } from './info.js';
import type {
  ContainerDetail,
  ContainerEvent,
  ContainerEventType,
  ContainerState,
  ContainerSummary,
  DeclaredMount,
  DeclaredPropagation,
  NamespaceMode,
  RuntimeClient,
  RuntimeVersion,
  SandboxDetail,
  SandboxSummary,
} from './types.js';
import type {
  WireContainer,
  WireContainerConfig,
  WireContainerEvent,
  WireContainerStatus,
  WireImageSpec,
  WireMount,
  WireNamespaceOption,
  WirePodSandbox,
  WirePodSandboxStatus,
  WireSandboxConfig,
  WireVersionResponse,
} from './wire.js';

/** Observes every CRI request: the agent counts them as cri_requests_total{method,code}. */
export type CriObserver = (method: string, code: string) => void;

export interface CriClientOptions {
  /** Deadline of every unary call, in milliseconds. */
  readonly timeoutMs?: number;
  readonly observe?: CriObserver;
}

type Callback<T> = (err: grpc.ServiceError | null, res?: T) => void;
type UnaryMethod = (
  req: object,
  meta: grpc.Metadata,
  opts: grpc.CallOptions,
  cb: Callback<unknown>,
) => grpc.ClientUnaryCall;
type StreamMethod = (req: object, opts: grpc.CallOptions) => grpc.ClientReadableStream<unknown>;
type RawClient = grpc.Client & Record<string, UnaryMethod | StreamMethod | undefined>;

function protoPath(): string {
  // Built code runs from dist/src/cri, which the build gives a copy of proto/; ts sources, the
  // original.
  const local = fileURLToPath(new URL('./proto/cri-subset.proto', import.meta.url));
  if (existsSync(local)) return local;
  return fileURLToPath(new URL('../../../src/cri/proto/cri-subset.proto', import.meta.url));
}

function loadService(): grpc.ServiceClientConstructor {
  const def = protoLoader.loadSync(protoPath(), {
    keepCase: false,
    longs: Number,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const pkg = grpc.loadPackageDefinition(def) as unknown as {
    runtime: { v1: { RuntimeService: grpc.ServiceClientConstructor } };
  };
  return pkg.runtime.v1.RuntimeService;
}

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
const EVENT_TYPE: Record<string, ContainerEventType> = {
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

/** @internal exported for unit tests */
export function mapMount(m: WireMount): DeclaredMount {
  return {
    containerPath: m.containerPath,
    hostPath: m.hostPath,
    readOnly: m.readonly,
    propagation: PROPAGATION[m.propagation] ?? 'None',
  };
}

/** @internal exported for unit tests */
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
  };
}

/** @internal exported for unit tests */
export function mapSandboxStatus(s: WirePodSandboxStatus): SandboxDetail {
  const opts: Partial<WireNamespaceOption> = s.linux?.namespaces?.options ?? {};
  const ips = [s.network?.ip ?? '', ...(s.network?.additionalIps ?? []).map((a) => a.ip)];
  return {
    id: s.id,
    declared: { network: nsMode(opts.network), pid: nsMode(opts.pid), ipc: nsMode(opts.ipc) },
    ips: ips.filter((ip) => ip !== ''),
  };
}

/** @internal exported for unit tests */
export function mapContainer(c: WireContainer): ContainerSummary {
  return {
    id: c.id,
    sandboxId: c.podSandboxId,
    name: c.metadata?.name ?? c.labels['io.kubernetes.container.name'] ?? '',
    image: imageName(c.image) ?? c.image?.image ?? c.imageRef,
    state: CONTAINER_STATE[c.state] ?? 'unknown',
    createdAt: c.createdAt,
  };
}

/** The write path used by the test lab (kubelet's role); not part of RuntimeClient. */
export interface LabRuntimeClient extends RuntimeClient {
  runPodSandbox(config: WireSandboxConfig): Promise<string>;
  createContainer(
    sandboxId: string,
    config: WireContainerConfig,
    sandbox: WireSandboxConfig,
  ): Promise<string>;
  startContainer(id: string): Promise<void>;
  stopContainer(id: string, timeoutSeconds: number): Promise<void>;
  removeContainer(id: string): Promise<void>;
  stopPodSandbox(id: string): Promise<void>;
  removePodSandbox(id: string): Promise<void>;
}

/**
 * A CRI RuntimeService client over a unix socket. Every unary call carries a deadline; every
 * failure is a CriError naming the endpoint and method.
 */
export function createCriClient(
  endpoint: string,
  options: CriClientOptions = {},
): LabRuntimeClient {
  const timeoutMs = options.timeoutMs ?? 5000;
  const observe: CriObserver = options.observe ?? (() => undefined);
  const Service = loadService();
  const raw = new Service(grpcTarget(endpoint), grpc.credentials.createInsecure(), {
    'grpc.max_receive_message_length': 64 * 1024 * 1024,
  }) as RawClient;
  let socketChecked = false;

  async function call<T>(method: string, req: object): Promise<T> {
    if (!socketChecked) {
      const state = await checkSocket(endpoint);
      if (state !== 'ok') {
        observe(method, state);
        throw new CriError({ kind: state, method, endpoint, detail: 'before connecting' });
      }
      socketChecked = true;
    }
    const fn = raw[method] as UnaryMethod | undefined;
    if (fn === undefined) {
      throw new CriError({ kind: 'unimplemented', method, endpoint, detail: 'not in proto' });
    }
    return new Promise<T>((resolve, reject) => {
      fn.call(raw, req, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) => {
        if (err) {
          const kind = kindFromGrpc(err.code, err.details);
          if (kind === 'socket-missing' || kind === 'permission-denied') socketChecked = false;
          observe(method, kind);
          reject(
            new CriError({
              kind,
              method,
              endpoint,
              detail: err.details || err.message,
              cause: err,
            }),
          );
          return;
        }
        observe(method, 'ok');
        resolve(res as T);
      });
    });
  }

  return {
    endpoint,
    async version(): Promise<RuntimeVersion> {
      const r = await call<WireVersionResponse>('Version', { version: 'v1' });
      return { name: r.runtimeName, version: r.runtimeVersion, apiVersion: r.runtimeApiVersion };
    },
    async listSandboxes(): Promise<SandboxSummary[]> {
      const r = await call<{ items: WirePodSandbox[] }>('ListPodSandbox', {});
      return r.items.map(mapSandbox);
    },
    async sandboxStatus(id: string): Promise<SandboxDetail> {
      const r = await call<{ status: WirePodSandboxStatus | null }>('PodSandboxStatus', {
        podSandboxId: id,
        verbose: false,
      });
      if (!r.status)
        throw new CriError({
          kind: 'failed',
          method: 'PodSandboxStatus',
          endpoint,
          detail: 'empty status',
        });
      return mapSandboxStatus(r.status);
    },
    async listContainers(): Promise<ContainerSummary[]> {
      const r = await call<{ containers: WireContainer[] }>('ListContainers', {});
      return r.containers.map(mapContainer);
    },
    async containerStatus(id: string): Promise<ContainerDetail> {
      const r = await call<{ status: WireContainerStatus | null; info: Record<string, string> }>(
        'ContainerStatus',
        { containerId: id, verbose: true },
      );
      const info = parseContainerInfo(r.info);
      return {
        id,
        pid: info.pid,
        mounts: (r.status?.mounts ?? []).map(mapMount),
        image: imageName(r.status?.image),
        privileged: info.privileged,
        uid: info.uid,
        rootfsPropagation: info.rootfsPropagation,
        hostPorts: parseContainerPorts(r.status?.annotations, r.status?.metadata?.name ?? ''),
      };
    },
    watchEvents(onEvent: (e: ContainerEvent) => void, signal: AbortSignal): Promise<void> {
      const fn = raw.GetContainerEvents as StreamMethod | undefined;
      if (fn === undefined) {
        return Promise.reject(
          new CriError({
            kind: 'unimplemented',
            method: 'GetContainerEvents',
            endpoint,
            detail: 'not in proto',
          }),
        );
      }
      return new Promise<void>((resolve, reject) => {
        const stream = fn.call(raw, {}, {});
        const onAbort = (): void => {
          stream.cancel();
        };
        signal.addEventListener('abort', onAbort, { once: true });
        stream.on('data', (msg: WireContainerEvent) => {
          onEvent({
            containerId: msg.containerId,
            type: EVENT_TYPE[msg.containerEventType] ?? 'created',
          });
        });
        stream.on('error', (err: grpc.ServiceError) => {
          signal.removeEventListener('abort', onAbort);
          if (signal.aborted) {
            resolve();
            return;
          }
          const kind = kindFromGrpc(err.code, err.details);
          observe('GetContainerEvents', kind);
          reject(
            new CriError({
              kind,
              method: 'GetContainerEvents',
              endpoint,
              detail: err.details,
              cause: err,
            }),
          );
        });
        stream.on('end', () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        });
      });
    },
    async runPodSandbox(config: WireSandboxConfig): Promise<string> {
      const r = await call<{ podSandboxId: string }>('RunPodSandbox', { config });
      return r.podSandboxId;
    },
    async createContainer(
      sandboxId: string,
      config: WireContainerConfig,
      sandbox: WireSandboxConfig,
    ): Promise<string> {
      const r = await call<{ containerId: string }>('CreateContainer', {
        podSandboxId: sandboxId,
        config,
        sandboxConfig: sandbox,
      });
      return r.containerId;
    },
    async startContainer(id: string): Promise<void> {
      await call('StartContainer', { containerId: id });
    },
    async stopContainer(id: string, timeoutSeconds: number): Promise<void> {
      await call('StopContainer', { containerId: id, timeout: timeoutSeconds });
    },
    async removeContainer(id: string): Promise<void> {
      await call('RemoveContainer', { containerId: id });
    },
    async stopPodSandbox(id: string): Promise<void> {
      await call('StopPodSandbox', { podSandboxId: id });
    },
    async removePodSandbox(id: string): Promise<void> {
      await call('RemovePodSandbox', { podSandboxId: id });
    },
    close(): void {
      raw.close();
    },
  };
}
