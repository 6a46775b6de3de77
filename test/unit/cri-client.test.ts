import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { METHODS, createCriClient } from '../../src/cri/client.js';
import { CriError, plainDetail } from '../../src/cri/errors.js';

/**
 * The client against an in-process gRPC server speaking our proto over a unix socket: checks
 * deadlines and error mapping without a runtime (the real contract is tested on the lab).
 */
let server: grpc.Server;
let socket: string;

before(async () => {
  const proto = fileURLToPath(new URL('../../../src/cri/proto/cri-subset.proto', import.meta.url));
  const def = grpc.loadPackageDefinition(
    protoLoader.loadSync(proto, { keepCase: false, enums: String, defaults: true }),
  ) as unknown as {
    runtime: { v1: { RuntimeService: { service: grpc.ServiceDefinition } } };
  };
  server = new grpc.Server();
  server.addService(def.runtime.v1.RuntimeService.service, {
    Version: (_call: unknown, cb: grpc.sendUnaryData<object>) => {
      cb(null, {
        version: '0.1.0',
        runtimeName: 'fake',
        runtimeVersion: '9.9',
        runtimeApiVersion: 'v1',
      });
    },
    // Never answers: the client's deadline must fire.
    ListPodSandbox: () => undefined,
    ListContainers: (_call: unknown, cb: grpc.sendUnaryData<object>) => {
      cb({ code: grpc.status.PERMISSION_DENIED, details: 'not you' });
    },
  });
  socket = join(await mkdtemp(join(tmpdir(), 'nsreport-cri-')), 'cri.sock');
  await new Promise<void>((resolve, reject) => {
    server.bindAsync(`unix://${socket}`, grpc.ServerCredentials.createInsecure(), (err) => {
      if (err) reject(err);
      else resolve();
    });
  });
});

after(() => {
  server.forceShutdown();
  rmSync(dirname(socket), { recursive: true, force: true });
});

test('Version over the unix socket, typed', async () => {
  const seen: string[] = [];
  const c = createCriClient(`unix://${socket}`, {
    observe: (m, code) => seen.push(`${m}:${code}`),
  });
  assert.deepEqual(await c.version(), { name: 'fake', version: '9.9', apiVersion: 'v1' });
  assert.deepEqual(seen, ['Version:ok']);
  c.close();
});

test('every call has a deadline', async () => {
  const c = createCriClient(socket, { timeoutMs: 200 });
  const t0 = Date.now();
  await assert.rejects(
    c.listSandboxes(),
    (e: unknown) => e instanceof CriError && e.kind === 'deadline',
  );
  assert.ok(Date.now() - t0 < 5000);
  c.close();
});

test('errors carry a kind and name the endpoint and method', async () => {
  const c = createCriClient(socket);
  await assert.rejects(c.listContainers(), (e: unknown) => {
    assert.ok(e instanceof CriError);
    assert.equal(e.kind, 'permission-denied');
    assert.match(e.message, /ListContainers/);
    assert.match(e.message, /cri\.sock/);
    return true;
  });
  await assert.rejects(
    c.containerStatus('x'),
    (e: unknown) => e instanceof CriError && e.kind === 'unimplemented',
  );
  c.close();
});

test('a missing socket is socket-missing before any gRPC', async () => {
  const c = createCriClient('/nonexistent/dir/cri.sock');
  await assert.rejects(
    c.version(),
    (e: unknown) => e instanceof CriError && e.kind === 'socket-missing',
  );
  c.close();
});

test('a path that is not a socket says what it is, before any gRPC', async () => {
  const c = createCriClient(dirname(socket));
  await assert.rejects(c.version(), (e: unknown) => {
    assert.ok(e instanceof CriError);
    assert.equal(e.kind, 'socket-missing');
    assert.match(e.message, /\(not a socket: a directory\)$/);
    return true;
  });
  c.close();
});

test("grpc-js's details as an operator reads them: one line, no timings, no error class names", () => {
  assert.equal(
    plainDetail(
      'Deadline exceeded after 1.002s,name resolution: 0.005s,metadata filters: 0.001s,LB pick: 0.012s,remote_addr=/run/x.sock',
    ),
    'Deadline exceeded after 1.002s',
  );
  assert.equal(
    plainDetail(
      'No connection established. Last error: Error: connect ECONNREFUSED /run/x.sock (2026-12-01T12:27:42.549Z). Resolution note: ',
    ),
    'No connection established. Last error: connect ECONNREFUSED /run/x.sock.',
  );
  assert.equal(plainDetail('not you'), 'not you');
});

test("the client's method table is the .proto's service, message for message", () => {
  const proto = fileURLToPath(new URL('../../../src/cri/proto/cri-subset.proto', import.meta.url));
  const rpcs = [
    ...readFileSync(proto, 'utf8').matchAll(/^\s*rpc (\w+)\((\w+)\) returns \((stream )?(\w+)\)/gm),
  ].map(([, method = '', request, stream, response]) => [
    method,
    { request, response, ...(stream ? { stream: true } : {}) },
  ]);
  assert.ok(rpcs.length >= 6);
  assert.deepEqual(Object.fromEntries(rpcs), METHODS);
});
