/**
 * The raw CRI answers of a runtime, for the isolation captures (test/isolation/capture.sh): the
 * RuntimeService calls through the upstream proto (k8s.io/cri-api's api.proto, every field, snake
 * case as on the wire, zero values shown), and the same sandbox and container through nsreport's
 * own client (src/cri/client.ts, whose proto is a subset: what the agent sees of them).
 *
 *   node dist/test/isolation/cri-dump.js SOCKET API_PROTO status OUT.json
 *   node dist/test/isolation/cri-dump.js SOCKET API_PROTO sandbox ID OUT_PREFIX
 *   node dist/test/isolation/cri-dump.js SOCKET API_PROTO container ID OUT_PREFIX
 *
 * A sandbox or container writes OUT_PREFIX.raw.json (the upstream proto) and OUT_PREFIX.nsreport.json.
 */
import { writeFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { createCriClient } from '../../src/cri/client.js';

type Unary = (
  req: object,
  meta: grpc.Metadata,
  opts: grpc.CallOptions,
  cb: (err: grpc.ServiceError | null, res?: unknown) => void,
) => void;

function upstream(socket: string, proto: string): Record<string, Unary> & grpc.Client {
  const def = protoLoader.loadSync(proto, {
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const pkg = grpc.loadPackageDefinition(def) as unknown as {
    runtime: { v1: { RuntimeService: grpc.ServiceClientConstructor } };
  };
  return new pkg.runtime.v1.RuntimeService(
    `unix://${socket}`,
    grpc.credentials.createInsecure(),
  ) as unknown as Record<string, Unary> & grpc.Client;
}

function call(client: Record<string, Unary>, method: string, req: object): Promise<unknown> {
  return new Promise((resolve, reject) => {
    client[method]!.call(
      client,
      req,
      new grpc.Metadata(),
      { deadline: Date.now() + 10_000 },
      (err, res) => {
        if (err) reject(err);
        else resolve(res);
      },
    );
  });
}

/** The verbose `info` map's values are JSON documents: parsed, so that the file reads as one. */
function withInfo(res: unknown): unknown {
  const r = res as { info?: Record<string, string> };
  if (!r.info) return res;
  const info: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(r.info)) {
    try {
      info[k] = JSON.parse(v) as unknown;
    } catch {
      info[k] = v;
    }
  }
  return { ...r, info };
}

const write = (path: string, value: unknown): void => {
  writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`);
};

async function main(): Promise<void> {
  const [socket, proto, what, ...rest] = process.argv.slice(2);
  if (!socket || !proto || !what)
    throw new Error('usage: SOCKET API_PROTO status|sandbox|container …');
  const raw = upstream(socket, proto);
  const ours = createCriClient(socket, { timeoutMs: 10_000 });
  try {
    if (what === 'status') {
      const status = await call(raw, 'Status', { verbose: true });
      const config = await call(raw, 'RuntimeConfig', {}).catch((e: unknown) => ({
        error: String(e),
      }));
      const version = await call(raw, 'Version', { version: 'v1' });
      write(rest[0]!, { Version: version, Status: withInfo(status), RuntimeConfig: config });
    } else if (what === 'sandbox') {
      const [id, prefix] = rest as [string, string];
      write(
        `${prefix}.raw.json`,
        withInfo(await call(raw, 'PodSandboxStatus', { pod_sandbox_id: id, verbose: true })),
      );
      write(`${prefix}.nsreport.json`, await ours.sandboxStatus(id));
    } else if (what === 'container') {
      const [id, prefix] = rest as [string, string];
      write(
        `${prefix}.raw.json`,
        withInfo(await call(raw, 'ContainerStatus', { container_id: id, verbose: true })),
      );
      write(`${prefix}.nsreport.json`, await ours.containerStatus(id));
    } else {
      throw new Error(`unknown: ${what}`);
    }
  } finally {
    raw.close();
    ours.close();
  }
}

await main();
