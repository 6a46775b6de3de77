import * as grpc from '@grpc/grpc-js';
import { runtime, type MessageCodec } from './codec.js';
import { CriError, kindFromGrpc } from './errors.js';
import { checkSocket, grpcTarget } from './endpoint.js';
import { parseContainerInfo, parseSandboxInfo } from './info.js';
import type {
  ContainerDetail,
  ContainerEvent,
  ContainerSummary,
  RuntimeClient,
  RuntimeVersion,
  SandboxDetail,
  SandboxSummary,
} from './types.js';
import type {
  WireContainer,
  WireContainerEvent,
  WireContainerStatus,
  WirePodSandbox,
  WirePodSandboxStatus,
  WireVersionResponse,
} from './wire.js';
import {
  EVENT_TYPE,
  mapContainerStatus,
  mapContainer,
  mapSandbox,
  mapSandboxStatus,
} from './mappers.js';

/** Observes every CRI request: the agent counts them as cri_requests_total{method,code}. */
export type CriObserver = (method: string, code: string) => void;

export interface CriClientOptions {
  /** Deadline of every unary call, in milliseconds. */
  readonly timeoutMs?: number;
  readonly observe?: CriObserver;
}

/**
 * The RuntimeService methods of proto/cri-subset.proto and their messages (a unit test holds this
 * to the .proto's rpc lines).
 */
export const METHODS: Readonly<
  Record<string, { request: string; response: string; stream?: true }>
> = {
  Version: { request: 'VersionRequest', response: 'VersionResponse' },
  RunPodSandbox: { request: 'RunPodSandboxRequest', response: 'RunPodSandboxResponse' },
  StopPodSandbox: { request: 'StopPodSandboxRequest', response: 'StopPodSandboxResponse' },
  RemovePodSandbox: { request: 'RemovePodSandboxRequest', response: 'RemovePodSandboxResponse' },
  PodSandboxStatus: { request: 'PodSandboxStatusRequest', response: 'PodSandboxStatusResponse' },
  ListPodSandbox: { request: 'ListPodSandboxRequest', response: 'ListPodSandboxResponse' },
  CreateContainer: { request: 'CreateContainerRequest', response: 'CreateContainerResponse' },
  StartContainer: { request: 'StartContainerRequest', response: 'StartContainerResponse' },
  StopContainer: { request: 'StopContainerRequest', response: 'StopContainerResponse' },
  RemoveContainer: { request: 'RemoveContainerRequest', response: 'RemoveContainerResponse' },
  ListContainers: { request: 'ListContainersRequest', response: 'ListContainersResponse' },
  ContainerStatus: { request: 'ContainerStatusRequest', response: 'ContainerStatusResponse' },
  GetContainerEvents: {
    request: 'GetEventsRequest',
    response: 'ContainerEventResponse',
    stream: true,
  },
};

/**
 * Messages decoded as @grpc/proto-loader would give them (camelCase, longs as numbers, enums by
 * name, absent fields at their defaults: wire.ts), by the generated codec.
 */
const DECODED = { longs: Number, enums: String, defaults: true, oneofs: true } as const;

interface Rpc {
  readonly path: string;
  readonly serialize: (req: object) => Buffer;
  readonly deserialize: (b: Buffer) => unknown;
}

function codec(name: string): MessageCodec {
  const c = runtime.v1[name];
  if (c === undefined) throw new Error(`cri codec: no message ${name}`);
  return c;
}

/** The path and codecs of a method, or undefined when the proto does not have it. */
function rpc(method: string, stream: boolean): Rpc | undefined {
  const m = METHODS[method];
  if (m === undefined || (m.stream === true) !== stream) return undefined;
  const req = codec(m.request);
  const res = codec(m.response);
  return {
    path: `/runtime.v1.RuntimeService/${method}`,
    serialize: (o) => Buffer.from(req.encode(req.fromObject(o)).finish()),
    deserialize: (b) => res.toObject(res.decode(b), DECODED),
  };
}

/** One gRPC channel to a CRI runtime: unary calls with a deadline, every failure a CriError. */
export interface CriConnection {
  readonly endpoint: string;
  readonly observe: CriObserver;
  call: <T>(method: string, req: object) => Promise<T>;
  /** A server-streaming call, or undefined when the proto does not have the method. */
  stream: (method: string, req: object) => grpc.ClientReadableStream<unknown> | undefined;
  close: () => void;
}

/** Opens the channel (lazily: the socket is checked at the first call). */
export function connectCri(endpoint: string, options: CriClientOptions = {}): CriConnection {
  const timeoutMs = options.timeoutMs ?? 5000;
  const observe: CriObserver = options.observe ?? (() => undefined);
  const raw = new grpc.Client(grpcTarget(endpoint), grpc.credentials.createInsecure(), {
    'grpc.max_receive_message_length': 64 * 1024 * 1024,
  });
  let socketChecked = false;

  async function call<T>(method: string, req: object): Promise<T> {
    if (!socketChecked) {
      const check = await checkSocket(endpoint);
      if (check.state !== 'ok') {
        observe(method, check.state);
        throw new CriError({ kind: check.state, method, endpoint, detail: check.detail });
      }
      socketChecked = true;
    }
    const r = rpc(method, false);
    if (r === undefined) {
      throw new CriError({ kind: 'unimplemented', method, endpoint, detail: 'not in proto' });
    }
    return new Promise<T>((resolve, reject) => {
      const deadline = { deadline: Date.now() + timeoutMs };
      const metadata = new grpc.Metadata();
      raw.makeUnaryRequest(
        r.path,
        r.serialize,
        r.deserialize,
        req,
        metadata,
        deadline,
        (err, res) => {
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
        },
      );
    });
  }

  return {
    endpoint,
    observe,
    call,
    stream(method, req) {
      const r = rpc(method, true);
      return r && raw.makeServerStreamRequest(r.path, r.serialize, r.deserialize, req);
    },
    close() {
      raw.close();
    },
  };
}

/**
 * A CRI RuntimeService client over a unix socket: the read-only calls nsreport makes. Every
 * unary call carries a deadline; every failure is a CriError naming the endpoint and method.
 */
export function createCriClient(endpoint: string, options: CriClientOptions = {}): RuntimeClient {
  return runtimeClient(connectCri(endpoint, options));
}

/** The RuntimeClient of a connection. */
// eslint-disable-next-line max-lines-per-function -- a factory: its closure is the module
export function runtimeClient(conn: CriConnection): RuntimeClient {
  const { endpoint, observe, call } = conn;
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
      // Verbose: the infra process and the pinned network namespace (asked once per sandbox).
      const r = await call<{ status: WirePodSandboxStatus | null; info?: Record<string, string> }>(
        'PodSandboxStatus',
        { podSandboxId: id, verbose: true },
      );
      if (!r.status)
        throw new CriError({
          kind: 'failed',
          method: 'PodSandboxStatus',
          endpoint,
          detail: 'empty status',
        });
      return mapSandboxStatus(r.status, parseSandboxInfo(r.info));
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
      return mapContainerStatus(id, r.status, parseContainerInfo(r.info));
    },
    watchEvents(onEvent: (e: ContainerEvent) => void, signal: AbortSignal): Promise<void> {
      const stream = conn.stream('GetContainerEvents', {});
      if (stream === undefined) {
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
          // A stream the runtime ended cleanly: counted, so that reconnects show in the metric.
          observe('GetContainerEvents', 'ok');
          resolve();
        });
      });
    },
    close(): void {
      conn.close();
    },
  };
}
