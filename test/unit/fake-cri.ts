import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { readProcessStart } from '../../src/procfs/reader.js';

/**
 * A CRI runtime in the test process: a gRPC server speaking cri-subset.proto on a unix socket,
 * answering the read calls from a list of pods the test sets (and may change between calls).
 * For the CLI run as its own process (`--cri-endpoint`); the real contract is tested on the lab.
 */

export interface FakeContainer {
  readonly id: string;
  readonly name: string;
  readonly state: 'running' | 'exited';
  readonly pid: number;
  /** ns since the epoch, as CRI gives them. */
  readonly createdAt: number;
  readonly startedAt: number;
}

export interface FakePod {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly sandboxId: string;
  readonly ready: boolean;
  readonly createdAt: number;
  readonly containers: readonly FakeContainer[];
}

export interface FakeCri {
  readonly socket: string;
  /** What the runtime says. */
  pods: FakePod[];
  /** When set, every call fails with this gRPC status. */
  failWith: { readonly code: grpc.status; readonly details: string } | null;
  close(): void;
}

const STATE = { running: 'CONTAINER_RUNNING', exited: 'CONTAINER_EXITED' } as const;

type Unary = (call: { request: Record<string, unknown> }, cb: grpc.sendUnaryData<object>) => void;

function handlers(cri: FakeCri): Record<string, Unary> {
  const answer =
    (f: (req: Record<string, unknown>) => object | Error): Unary =>
    (call, cb) => {
      if (cri.failWith) {
        cb({ code: cri.failWith.code, details: cri.failWith.details });
        return;
      }
      const r = f(call.request);
      if (r instanceof Error) cb({ code: grpc.status.NOT_FOUND, details: r.message });
      else cb(null, r);
    };
  const containers = (): { pod: FakePod; c: FakeContainer }[] =>
    cri.pods.flatMap((pod) => pod.containers.map((c) => ({ pod, c })));
  return {
    Version: answer(() => ({
      version: '0.1.0',
      runtimeName: 'fake',
      runtimeVersion: '1',
      runtimeApiVersion: 'v1',
    })),
    ListPodSandbox: answer(() => ({
      items: cri.pods.map((p) => ({
        id: p.sandboxId,
        metadata: { name: p.name, namespace: p.namespace, uid: p.uid, attempt: 0 },
        state: p.ready ? 'SANDBOX_READY' : 'SANDBOX_NOTREADY',
        createdAt: p.createdAt,
        labels: {},
        annotations: {},
      })),
    })),
    ListContainers: answer(() => ({
      containers: containers().map(({ pod, c }) => ({
        id: c.id,
        podSandboxId: pod.sandboxId,
        metadata: { name: c.name, attempt: 0 },
        image: { image: 'busybox' },
        imageRef: 'busybox',
        state: STATE[c.state],
        createdAt: c.createdAt,
        labels: {},
      })),
    })),
    ContainerStatus: answer((req) => {
      const found = containers().find(({ c }) => c.id === req.containerId);
      if (!found) return new Error(`container ${String(req.containerId)} not found`);
      const { c } = found;
      return {
        status: {
          id: c.id,
          metadata: { name: c.name, attempt: 0 },
          state: STATE[c.state],
          createdAt: c.createdAt,
          startedAt: c.startedAt,
          image: { image: 'busybox' },
          mounts: [],
          labels: {},
        },
        info: { info: JSON.stringify({ pid: c.pid, sandboxID: found.pod.sandboxId }) },
      };
    }),
  };
}

/** Starts the fake runtime on `socket` (a path in a temp directory of the caller's). */
export async function startFakeCri(socket: string): Promise<FakeCri> {
  const proto = fileURLToPath(new URL('../../../src/cri/proto/cri-subset.proto', import.meta.url));
  const def = grpc.loadPackageDefinition(
    protoLoader.loadSync(proto, { keepCase: false, enums: String, defaults: true }),
  ) as unknown as { runtime: { v1: { RuntimeService: { service: grpc.ServiceDefinition } } } };
  const server = new grpc.Server();
  const cri: FakeCri = {
    socket,
    pods: [],
    failWith: null,
    close: () => {
      server.forceShutdown();
      rmSync(socket, { force: true });
    },
  };
  server.addService(def.runtime.v1.RuntimeService.service, handlers(cri));
  await new Promise<void>((resolve, reject) => {
    server.bindAsync(`unix://${socket}`, grpc.ServerCredentials.createInsecure(), (err) => {
      if (err) reject(err);
      else resolve();
    });
  });
  return cri;
}

export interface PodOptions {
  readonly namespace?: string;
  readonly name?: string;
  readonly state?: FakeContainer['state'];
  /** The container's name (default `app`): what the runtime says, hostile or not. */
  readonly container?: string;
  /** The container was created this long after the process started: its PID is stale. */
  readonly createdLaterMs?: number;
}

/**
 * A pod whose one container `app` is the process `pid`, with create and start times around that
 * process's start (so its PID is the container's), or after it (`createdLaterMs`: a reused PID).
 */
export function podOf(pid: number, o: PodOptions = {}): FakePod {
  const started = readProcessStart('/proc', pid);
  if (!started.ok) throw new Error(`no process ${pid}: ${started.detail}`);
  const created = (started.value + (o.createdLaterMs ?? -500)) * 1e6;
  const name = o.name ?? 'web';
  return {
    namespace: o.namespace ?? 'shop',
    name,
    uid: `uid-${name}`,
    sandboxId: `sandbox-${name}`,
    ready: true,
    createdAt: created,
    containers: [
      {
        id: `ctr-${name}`,
        name: o.container ?? 'app',
        state: o.state ?? 'running',
        pid,
        createdAt: created,
        startedAt: created + 1e9,
      },
    ],
  };
}
