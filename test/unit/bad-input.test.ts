import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { inspect } from '../../src/inspect/inspect.js';
import { buildReport } from '../../src/report/report.js';
import { BAD_INPUT_PATH, formattedBadInput, renderBadInput } from '../../scripts/bad-input.js';
import { runNsreport } from '../nsreport.js';
import { BAD_INPUTS, FIXTURES, ROW_TIMEOUT_MS, type BadInput } from './bad-input.cases.js';
import { NETNS_CASES } from './netns-cases.js';
import { fakeProc, fixture, netFixture, type FakeProcess } from './fixtures.js';
import { sample, sandbox, snapshot } from './snapshot.js';

/**
 * Every row of the bad-input table (bad-input.cases.ts) against the built CLI, with fakes: a
 * CRI runtime over gRPC in each way it can fail, an API server in each way it can answer, procfs
 * trees, kubeconfigs and credential plugins. A unit test of nsreport's error handling; the real
 * runtime, API server and kubelet are the e2e suites'.
 */

const dir = mkdtempSync(join(tmpdir(), 'nsreport-bad-input-'));
const closers: (() => void)[] = [];
let apiUrl = '';
let apiPort = 0;

// ---- The CRI fakes ----------------------------------------------------------------------

type Handler = (call: unknown, cb: grpc.sendUnaryData<object>) => void;

function criService(): grpc.ServiceDefinition {
  const proto = fileURLToPath(new URL('../../../src/cri/proto/cri-subset.proto', import.meta.url));
  const def = grpc.loadPackageDefinition(
    protoLoader.loadSync(proto, { keepCase: false, enums: String, defaults: true }),
  ) as unknown as { runtime: { v1: { RuntimeService: { service: grpc.ServiceDefinition } } } };
  return def.runtime.v1.RuntimeService.service;
}

async function serveCri(
  name: string,
  handlers: Record<string, Handler>,
  service = criService(),
): Promise<void> {
  const server = new grpc.Server();
  server.addService(service, handlers);
  await new Promise<void>((resolve, reject) => {
    server.bindAsync(
      `unix://${join(dir, name)}`,
      grpc.ServerCredentials.createInsecure(),
      (err) => {
        if (err) reject(err);
        else resolve();
      },
    );
  });
  closers.push(() => {
    server.forceShutdown();
  });
}

const answer =
  (body: object): Handler =>
  (_call, cb) => {
    cb(null, body);
  };

const SANDBOX_META = { name: 'web', uid: 'uid-web', namespace: 'shop', attempt: 0 };
/** The runtime of `cri-ok.sock`: pod shop/web with container app (PID 200), and a nameless pod. */
const OK_RUNTIME: Record<string, Handler> = {
  Version: answer({
    version: '0.1.0',
    runtimeName: 'fake',
    runtimeVersion: '1.0',
    runtimeApiVersion: 'v1',
  }),
  ListPodSandbox: answer({
    items: [
      { id: 'sb-web', metadata: SANDBOX_META, state: 'SANDBOX_READY', createdAt: 1 },
      {
        id: 'sb-empty',
        metadata: { ...SANDBOX_META, name: '', uid: 'uid-empty' },
        state: 'SANDBOX_READY',
        createdAt: 1,
      },
    ],
  }),
  PodSandboxStatus: (call, cb) => {
    const id = (call as { request: { podSandboxId: string } }).request.podSandboxId;
    cb(null, {
      status: {
        id,
        metadata: SANDBOX_META,
        state: 'SANDBOX_READY',
        network: { ip: '10.0.0.5', additionalIps: [] },
        linux: { namespaces: { options: { network: 'POD', pid: 'CONTAINER', ipc: 'POD' } } },
      },
    });
  },
  ListContainers: answer({
    containers: [
      {
        id: 'c-app',
        podSandboxId: 'sb-web',
        metadata: { name: 'app', attempt: 0 },
        image: { image: 'busybox:1' },
        imageRef: 'busybox:1',
        state: 'CONTAINER_RUNNING',
        createdAt: 1,
      },
    ],
  }),
  ContainerStatus: answer({
    status: {
      id: 'c-app',
      metadata: { name: 'app', attempt: 0 },
      state: 'CONTAINER_RUNNING',
      image: { image: 'busybox:1' },
      mounts: [],
    },
    info: { info: JSON.stringify({ pid: 200, sandboxID: 'sb-web' }) },
  }),
};

async function criFakes(): Promise<void> {
  const service = criService();
  const all = (h: Handler): Record<string, Handler> =>
    Object.fromEntries(Object.keys(service).map((k) => [k, h]));
  await serveCri('cri-ok.sock', OK_RUNTIME);
  await serveCri('cri-unimplemented.sock', {});
  await serveCri(
    'cri-denied.sock',
    all((_c, cb) => {
      cb({ code: grpc.status.PERMISSION_DENIED, details: 'not you' });
    }),
  );
  await serveCri(
    'cri-silent.sock',
    all(() => undefined),
  );
  // Every answer's bytes replaced by some that are no protobuf message.
  const garbage = Object.fromEntries(
    Object.entries(service).map(([k, m]) => [
      k,
      { ...m, responseSerialize: () => Buffer.from([0xff, 0xff, 0xff, 0x07, 0x01]) },
    ]),
  ) as grpc.ServiceDefinition;
  await serveCri('cri-garbage.sock', all(answer({})), garbage);
  const http1 = net.createServer((c) => {
    c.end('HTTP/1.1 400 Bad Request\r\n\r\n');
  });
  await new Promise<void>((resolve) => http1.listen(join(dir, 'not-grpc.sock'), resolve));
  closers.push(() => http1.close());
  // A listener killed outright leaves its socket file behind, with nobody to accept.
  spawnSync(process.execPath, [
    '-e',
    `require('net').createServer().listen(${JSON.stringify(join(dir, 'dead.sock'))}, () => process.kill(process.pid, 'SIGKILL'))`,
  ]);
  writeFileSync(join(dir, 'file.sock'), 'not a socket\n');
}

// ---- procfs trees -------------------------------------------------------------------------

const HOST_NS = { net: 1, mnt: 2, pid: 3, ipc: 4, uts: 5, user: 6, cgroup: 7, time: 8 };
const POD_NS = { ...HOST_NS, net: 500, mnt: 501, pid: 502, ipc: 503, uts: 504 };

async function procTree(
  name: string,
  edit: { host?: boolean; pod?: FakeProcess } = {},
): Promise<void> {
  const processes: Record<number, FakeProcess> = {
    200: {
      ns: POD_NS,
      mountinfo: fixture('proc/private.mountinfo'),
      net: netFixture('pod'),
      ...edit.pod,
    },
  };
  if (edit.host !== false)
    processes[1] = {
      ns: HOST_NS,
      mountinfo: fixture('proc/host.mountinfo'),
      net: netFixture('host'),
    };
  const root = await fakeProc(processes);
  symlinkSync(edit.host === false ? '200' : '1', join(root, 'self'));
  symlinkSync(root, join(dir, name));
}

async function procFakes(): Promise<void> {
  await procTree('proc');
  await procTree('proc-no-host', { host: false });
  const cut = fixture('proc/private.mountinfo');
  await procTree('proc-bad-mountinfo', {
    pod: { mountinfo: `garbage\n\0\0\n${cut.slice(0, cut.length / 2)}` },
  });
  await procTree('proc-bad-net', {
    pod: { net: Object.fromEntries(Object.keys(netFixture('pod')).map((f) => [f, 'x\0y\n:::'])) },
  });
  await procTree('proc-bad-ns', { pod: { ns: {} } });
  const nsDir = join(dir, 'proc-bad-ns', '200', 'ns');
  for (const type of Object.keys(POD_NS)) writeFileSync(join(nsDir, type), 'net:[500]');
  mkdirSync(join(dir, 'home'));
}

// ---- The API server fake ------------------------------------------------------------------

const [WEB] = inspect(
  snapshot([sandbox([sample('app', { sandboxId: 'sb-web' })], { name: 'web', id: 'sb-web' })]),
).map((p) => buildReport(p, null));

const POD = {
  metadata: { namespace: 'shop', name: 'web', uid: 'uid-web' },
  spec: { nodeName: 'node-1', containers: [{ image: 'busybox:1' }] },
  status: { phase: 'Running' },
};
const DAEMONSET = {
  metadata: {
    namespace: 'nsreport',
    name: 'nsreport',
    labels: { 'app.kubernetes.io/version': '0.1.0' },
  },
  spec: { template: { spec: { containers: [{ image: 'nsreport:0.1.0' }] } } },
  status: { numberReady: 1, desiredNumberScheduled: 1 },
};
const NODE = { metadata: { name: 'node-1', labels: {} }, spec: {} };

const list = (items: unknown[]): object => ({ items, metadata: { resourceVersion: '1' } });
const status = (code: number, message: string): object => ({
  kind: 'Status',
  apiVersion: 'v1',
  status: 'Failure',
  message,
  code,
});
const FORBIDDEN =
  'namespacereports.nsreport.dev is forbidden: User "alice" cannot list resource "namespacereports" in API group "nsreport.dev" at the cluster scope';

/** What the fake API server answers: [status, body] for a scenario and a kind, or null: never. */
function apiAnswer(scenario: string, kind: string): [number, string | object] | null {
  const ok: Record<string, object> = {
    pods: list([POD]),
    namespacereports: list([WEB]),
    daemonsets: list([DAEMONSET]),
    nodes: list([NODE]),
  };
  const normal: [number, object] = [200, ok[kind] ?? list([])];
  switch (scenario) {
    case '401':
      return [401, status(401, 'Unauthorized')];
    case '403':
      return [403, status(403, FORBIDDEN)];
    case 'no-crd':
      return kind === 'namespacereports' ? [404, '404 page not found'] : normal;
    case '500':
      return kind === 'namespacereports'
        ? [500, status(500, 'etcdserver: request timed out')]
        : normal;
    case 'garbage':
      return [200, '<html>\n<body>proxy</body>\n</html>'];
    case 'not-a-list':
      return [200, { items: {} }];
    case 'hang':
      return null;
    case 'endless':
      return [200, { items: [], metadata: { continue: 'again' } }];
    case 'no-body':
      return kind === 'namespacereports' ? [200, list([{ ...WEB, report: undefined }])] : normal;
    case 'pods-forbidden':
      return kind === 'pods' ? [403, status(403, 'pods is forbidden')] : normal;
    default:
      return normal;
  }
}

const KINDS = ['pods', 'namespacereports', 'daemonsets', 'nodes'];

/** The object of that name in a list answer; 404 when it has none, other answers as they are. */
function one([code, body]: [number, string | object], name: string): [number, string | object] {
  if (code !== 200 || typeof body === 'string' || !('items' in body)) return [code, body];
  const items = body.items;
  const found = Array.isArray(items)
    ? (items as { metadata?: { name?: string } }[]).find((o) => o.metadata?.name === name)
    : undefined;
  return found ? [200, found] : [404, status(404, `"${name}" not found`)];
}

async function apiFake(): Promise<void> {
  const server = http.createServer((req, res) => {
    const [, scenario = '', ...rest] = (req.url ?? '').split('?')[0]?.split('/') ?? [];
    // A list (…/KIND) or one object (…/KIND/NAME, nsreport describe): the list's item of that name.
    const at = rest.findIndex((seg) => KINDS.includes(seg));
    const kind = at >= 0 ? (rest[at] ?? '') : (rest.at(-1) ?? '');
    const name = at >= 0 ? rest[at + 1] : undefined;
    const a = apiAnswer(scenario, kind);
    if (a === null) return;
    const [code, body] = name === undefined ? a : one(a, name);
    res.writeHead(code, { 'Content-Type': 'application/json' });
    res.end(typeof body === 'string' ? body : JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  apiPort = (server.address() as AddressInfo).port;
  apiUrl = `http://127.0.0.1:${apiPort}`;
  closers.push(() => {
    server.closeAllConnections();
    server.close();
  });
}

// ---- Kubeconfigs --------------------------------------------------------------------------

function kubeconfig(
  name: string,
  cluster: object,
  user: object = { token: 't' },
  context: object = { 'current-context': 'ctx' },
): void {
  writeFileSync(
    join(dir, name),
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      ...context,
      contexts: [{ name: 'ctx', context: { cluster: 'c1', user: 'u1' } }],
      clusters: [{ name: 'c1', cluster }],
      users: [{ name: 'u1', user }],
    }),
  );
}

const exec = (script: string): object => ({
  exec: { apiVersion: 'client.authentication.k8s.io/v1', command: '/bin/sh', args: ['-c', script] },
});

function kubeconfigs(): void {
  for (const s of [
    'ok',
    'no-body',
    'pods-forbidden',
    '401',
    '403',
    'no-crd',
    '500',
    'garbage',
    'not-a-list',
    'hang',
    'endless',
  ])
    kubeconfig(`api-${s}.kubeconfig`, { server: `${apiUrl}/${s}` });
  kubeconfig('api-down.kubeconfig', { server: 'http://127.0.0.1:1' });
  writeFileSync(join(dir, 'not-yaml.kubeconfig'), 'clusters: [\n  - {name: c1\nusers: ]]\n');
  writeFileSync(join(dir, 'scalar.kubeconfig'), 'just a string\n');
  kubeconfig('no-context.kubeconfig', { server: apiUrl }, { token: 't' }, {});
  kubeconfig('no-server.kubeconfig', {});
  kubeconfig('bad-url.kubeconfig', { server: 'not a url' });
  kubeconfig('no-scheme.kubeconfig', { server: 'api.example:6443' });
  kubeconfig('ftp.kubeconfig', { server: 'ftp://api.example' });
  kubeconfig('missing-ca.kubeconfig', {
    server: 'https://127.0.0.1:1',
    'certificate-authority': join(dir, 'no-such-dir', 'ca.crt'),
  });
  kubeconfig('bad-ca.kubeconfig', {
    server: 'https://127.0.0.1:1',
    'certificate-authority-data': Buffer.from('not a certificate').toString('base64'),
  });
  kubeconfig(
    'bad-client-key.kubeconfig',
    { server: 'https://127.0.0.1:1', 'insecure-skip-tls-verify': true },
    { 'client-certificate-data': 'bm90', 'client-key-data': 'bm90' },
  );
  kubeconfig(
    'missing-token.kubeconfig',
    { server: apiUrl },
    {
      tokenFile: join(dir, 'no-such-dir', 'token'),
    },
  );
  kubeconfig('exec-fails.kubeconfig', { server: apiUrl }, exec('echo login required >&2; exit 3'));
  kubeconfig('exec-junk.kubeconfig', { server: apiUrl }, exec('echo not json'));
  kubeconfig(
    'exec-missing.kubeconfig',
    { server: apiUrl },
    {
      exec: {
        apiVersion: 'client.authentication.k8s.io/v1',
        command: join(dir, 'no-such-dir', 'plugin'),
      },
    },
  );
  // Never answers; ends with its parent, so nothing is left behind.
  kubeconfig(
    'exec-hangs.kubeconfig',
    { server: apiUrl },
    exec('while kill -0 $PPID 2>/dev/null; do sleep 0.1; done'),
  );
}

// ---- Running a row ------------------------------------------------------------------------

function substitute(s: string): string {
  return s
    .replaceAll('$FIXTURES', dir)
    .replaceAll('$API', apiUrl)
    .replaceAll('$BUSY_PORT', String(apiPort));
}

/** A documented line as a regex: the text itself, `…` any text. */
function lineRegex(documented: string): RegExp {
  const parts = substitute(documented)
    .split('…')
    .map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${parts.join('.*')}$`);
}

const lines = (s: string): string[] => (s === '' ? [] : s.replace(/\n$/, '').split('\n'));

async function check(r: BadInput): Promise<void> {
  const result = await runNsreport(r.args.map(substitute), {
    timeoutMs: ROW_TIMEOUT_MS,
    closeStdout: r.closeStdout === true,
    cleanEnv: true,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: join(dir, 'home'),
      ...Object.fromEntries(Object.entries(r.env ?? {}).map(([k, v]) => [k, substitute(v)])),
    },
  });
  const seen = `exit ${String(result.code)}\nstderr:\n${result.stderr}stdout:\n${result.stdout.slice(0, 2000)}`;
  assert.equal(result.timedOut, false, `hung (killed after ${ROW_TIMEOUT_MS / 1000} s)\n${seen}`);
  assert.doesNotMatch(result.stderr, /^\s+at /m, `a stack trace\n${seen}`);
  assert.doesNotMatch(result.stderr, /\b\w*Error:/, `an Error: dump\n${seen}`);
  assert.equal(result.code, r.exit, seen);
  const got = lines(result.stderr);
  assert.equal(got.length, r.stderr.length, `stderr has ${got.length} lines\n${seen}`);
  r.stderr.forEach((want, i) => {
    assert.match(got[i] ?? '', lineRegex(want), seen);
  });
  if (r.stdout !== undefined) {
    const want = lineRegex(r.stdout);
    assert.ok(
      lines(result.stdout).some((l) => want.test(l)),
      `stdout has no ${want}\n${seen}`,
    );
  }
}

describe(
  'every bad input: one clear line (or the documented ones), a defined exit code',
  // Most rows are CPU (starting Node); a few wait on a 1 s deadline.
  { concurrency: 6 },
  () => {
    before(async () => {
      await criFakes();
      await procFakes();
      await apiFake();
      kubeconfigs();
    });
    after(() => {
      for (const close of closers) close();
      rmSync(dir, { recursive: true, force: true });
    });
    for (const r of BAD_INPUTS) {
      const env = Object.entries(r.env ?? {})
        .map(([k, v]) => `${k}=${v} `)
        .join('');
      test(`${r.topic}: ${r.what}: ${env}nsreport ${r.args.join(' ')}`, () => check(r));
    }
  },
);

test('the table has at least 200 rows, and every fixture it uses is described', () => {
  assert.ok(BAD_INPUTS.length >= 200, `${BAD_INPUTS.length} rows`);
  const used = new Set(
    BAD_INPUTS.flatMap((r) => [...r.args, ...Object.values(r.env ?? {})]).flatMap((a) =>
      [...a.matchAll(/\$FIXTURES\/([\w.-]+)/g)].map((m) => m[1] ?? ''),
    ),
  );
  for (const f of used) assert.ok(f in FIXTURES, `$FIXTURES/${f} is not in FIXTURES`);
});

test('docs/bad-input.md is the table (npm run docs writes it)', async () => {
  const want = await formattedBadInput(renderBadInput(BAD_INPUTS, FIXTURES, NETNS_CASES));
  assert.ok(
    readFileSync(BAD_INPUT_PATH, 'utf8') === want,
    'docs/bad-input.md is out of date: run npm run docs',
  );
});
