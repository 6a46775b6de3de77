import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
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
  const Service = loadService();
  const raw = new Service(grpcTarget(endpoint), grpc.credentials.createInsecure(), {
    'grpc.max_receive_message_length': 64 * 1024 * 1024,
  }) as RawClient;
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
    observe,
    call,
    stream(method, req) {
      const fn = raw[method] as StreamMethod | undefined;
      return fn?.call(raw, req, {});
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
