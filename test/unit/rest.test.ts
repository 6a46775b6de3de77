import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { connect, fileToken } from '../../src/k8s/connection.js';
import { ApiError } from '../../src/k8s/errors.js';
import { createRestClient, eachListed, eachPage, type WatchEvent } from '../../src/k8s/rest.js';

// The small client against a local HTTP server: what it sends and how it reads answers. The
// e2e suites run the same code against the real kube-apiserver (TLS, client certificates, the
// service account token in the pod, watches of the real CRD).

interface Seen {
  method: string;
  url: string;
  authorization: string | undefined;
  contentType: string | undefined;
  body: string;
}

async function server(
  handle: (req: Seen, res: http.ServerResponse) => void,
): Promise<{ url: string; seen: Seen[]; close: () => Promise<void> }> {
  const seen: Seen[] = [];
  const srv = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const s: Seen = {
        method: req.method ?? '',
        url: req.url ?? '',
        authorization: req.headers.authorization,
        contentType: req.headers['content-type'],
        body: Buffer.concat(chunks).toString('utf8'),
      };
      seen.push(s);
      handle(s, res);
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise((r) => {
        srv.closeAllConnections();
        srv.close(() => {
          r();
        });
      }),
  };
}

function json(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function kubeconfig(
  dir: string,
  serverUrl: string,
  user: object,
  cluster: object = {},
): Promise<string> {
  const path = join(dir, 'kubeconfig');
  await writeFile(
    path,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      'current-context': 'c',
      contexts: [{ name: 'c', context: { cluster: 'k', user: 'u' } }],
      clusters: [{ name: 'k', cluster: { server: serverUrl, ...cluster } }],
      users: [{ name: 'u', user }],
    }),
  );
  return path;
}

test('a kubeconfig token file is read again after a 401 (a rotated service account token)', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'nsr-rest-'));
  let valid = 'one';
  const srv = await server((s, res) => {
    if (s.authorization !== `Bearer ${valid}`) json(res, 401, { message: 'Unauthorized' });
    else json(res, 200, { metadata: { uid: 'node-uid' } });
  });
  t.after(async () => {
    await srv.close();
    await rm(dir, { recursive: true });
  });
  await writeFile(join(dir, 'token'), 'one\n');
  const conn = await connect({
    kubeconfig: await kubeconfig(dir, srv.url, { tokenFile: 'token' }),
  });
  const rest = createRestClient(conn, { timeoutMs: 2000, userAgent: 'test' });
  assert.deepEqual(await rest.request('GET', '/api/v1/nodes/n'), { metadata: { uid: 'node-uid' } });
  valid = 'two';
  await writeFile(join(dir, 'token'), 'two\n');
  await rest.request('GET', '/api/v1/nodes/n');
  assert.deepEqual(
    srv.seen.map((s) => s.authorization),
    ['Bearer one', 'Bearer one', 'Bearer two'],
    'the refused request is sent once more with the token read again',
  );
  valid = 'three';
  await assert.rejects(rest.request('GET', '/api/v1/nodes/n'), (err: unknown) => {
    assert.ok(err instanceof ApiError);
    assert.equal(err.kind, 'unauthorized');
    return true;
  });
});

test('a token file is cached for a minute, then read again', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'nsr-rest-'));
  t.after(() => rm(dir, { recursive: true }));
  const path = join(dir, 'token');
  await writeFile(path, 'a');
  const tok = fileToken(path, 50);
  assert.equal(await tok.authorization(), 'Bearer a');
  await writeFile(path, 'b');
  assert.equal(await tok.authorization(), 'Bearer a', 'cached');
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(await tok.authorization(), 'Bearer b', 'read again once older than maxAge');
});

test('errors: the API server Status body and HTTP status become an ApiError kind', async (t) => {
  const srv = await server((s, res) => {
    if (s.url.startsWith('/apis/gone')) json(res, 404, '404 page not found');
    else if (s.url.startsWith('/conflict'))
      json(res, 409, { kind: 'Status', message: 'the object has been modified' });
    else json(res, 404, { kind: 'Status', message: 'namespacereports "x" not found' });
  });
  t.after(() => srv.close());
  const dir = await mkdtemp(join(tmpdir(), 'nsr-rest-'));
  t.after(() => rm(dir, { recursive: true }));
  const conn = await connect({ kubeconfig: await kubeconfig(dir, srv.url, { token: 't' }) });
  const rest = createRestClient(conn, { timeoutMs: 2000, userAgent: 'test' });
  const kindOf = (p: Promise<unknown>): Promise<string> =>
    p.then(
      () => 'ok',
      (e: unknown) => (e instanceof ApiError ? e.kind : 'not an ApiError'),
    );
  assert.equal(await kindOf(rest.request('GET', '/apis/gone/v1/x')), 'crd-missing');
  assert.equal(await kindOf(rest.request('PATCH', '/conflict', { body: {} })), 'conflict');
  assert.equal(await kindOf(rest.request('GET', '/api/v1/x')), 'not-found');
  await srv.close();
  assert.equal(await kindOf(rest.request('GET', '/api/v1/x')), 'unreachable');
});

test('requests: server-side apply content type, query, body; pages followed to the end', async (t) => {
  const srv = await server((s, res) => {
    if (s.url.includes('continue=p2')) json(res, 200, { items: [{ n: 3 }], metadata: {} });
    else if (s.method === 'GET')
      json(res, 200, {
        items: [{ n: 1 }, { n: 2 }],
        metadata: { continue: 'p2', resourceVersion: '7' },
      });
    else json(res, 200, {});
  });
  t.after(() => srv.close());
  const dir = await mkdtemp(join(tmpdir(), 'nsr-rest-'));
  t.after(() => rm(dir, { recursive: true }));
  const conn = await connect({ kubeconfig: await kubeconfig(dir, srv.url, { token: 't' }) });
  const rest = createRestClient(conn, { timeoutMs: 2000, userAgent: 'test' });
  await rest.request('PATCH', '/apis/g/v1/namespaces/a/rs/b', {
    query: { fieldManager: 'nsreport', force: true },
    body: { metadata: { name: 'b' } },
    contentType: 'application/apply-patch+yaml',
  });
  const patch = srv.seen[0];
  assert.equal(patch?.url, '/apis/g/v1/namespaces/a/rs/b?fieldManager=nsreport&force=true');
  assert.equal(patch.contentType, 'application/apply-patch+yaml');
  assert.deepEqual(JSON.parse(patch.body), { metadata: { name: 'b' } });
  const got: number[] = [];
  await eachPage<{ n: number }>(
    rest,
    '/apis/g/v1/rs',
    { limit: 2, labelSelector: 'a=b' },
    (items) => got.push(...items.map((i) => i.n)),
  );
  assert.deepEqual(got, [1, 2, 3]);
  assert.equal(srv.seen[1]?.url, '/apis/g/v1/rs?limit=2&labelSelector=a%3Db');
  assert.equal(srv.seen[2]?.url, '/apis/g/v1/rs?limit=2&labelSelector=a%3Db&continue=p2');
});

test('watch: one event per line, even split across chunks; ends when the server ends it', async (t) => {
  const srv = await server((_s, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    const a = JSON.stringify({ type: 'ADDED', object: { metadata: { name: 'é1' } } });
    const b = JSON.stringify({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '9' } } });
    const bytes = Buffer.from(`${a}\n${b}\n`);
    const cut = bytes.indexOf(Buffer.from('é')) + 1; // inside the two bytes of é
    res.write(bytes.subarray(0, cut));
    setTimeout(() => {
      res.end(bytes.subarray(cut));
    }, 20);
  });
  t.after(() => srv.close());
  const dir = await mkdtemp(join(tmpdir(), 'nsr-rest-'));
  t.after(() => rm(dir, { recursive: true }));
  const conn = await connect({ kubeconfig: await kubeconfig(dir, srv.url, { token: 't' }) });
  const rest = createRestClient(conn, { timeoutMs: 2000, userAgent: 'test' });
  const events: WatchEvent<{ metadata: { name?: string; resourceVersion?: string } }>[] = [];
  await rest.watch(
    '/apis/g/v1/rs',
    { timeoutSeconds: 5, resourceVersion: '3' },
    (e: WatchEvent<{ metadata: { name?: string } }>) => events.push(e),
    new AbortController().signal,
  );
  assert.deepEqual(
    events.map((e) => e.type),
    ['ADDED', 'BOOKMARK'],
  );
  assert.equal(events[0]?.object.metadata.name, 'é1');
  assert.match(srv.seen[0]?.url ?? '', /timeoutSeconds=5&resourceVersion=3&watch=true/);
});

test('a kubeconfig with an exec plugin goes through client-node (its credential is sent)', async (t) => {
  const srv = await server((_s, res) => {
    json(res, 200, {});
  });
  t.after(() => srv.close());
  const dir = await mkdtemp(join(tmpdir(), 'nsr-rest-'));
  t.after(() => rm(dir, { recursive: true }));
  const cred = JSON.stringify({
    apiVersion: 'client.authentication.k8s.io/v1',
    kind: 'ExecCredential',
    status: { token: 'from-exec' },
  });
  const exec = {
    apiVersion: 'client.authentication.k8s.io/v1',
    command: 'echo',
    args: [cred],
    interactiveMode: 'Never',
  };
  // client-node refuses plain HTTP unless TLS verification is off (the e2e suite uses TLS).
  const path = await kubeconfig(dir, srv.url, { exec }, { 'insecure-skip-tls-verify': true });
  const rest = createRestClient(await connect({ kubeconfig: path }), {
    timeoutMs: 2000,
    userAgent: 'test',
  });
  await rest.request('GET', '/version');
  assert.equal(srv.seen[0]?.authorization, 'Bearer from-exec');
});

test('in-cluster without the service environment, and a missing context, say so', async () => {
  await assert.rejects(connect({ kubeconfig: null, env: {} }), /KUBERNETES_SERVICE_HOST/);
  const dir = await mkdtemp(join(tmpdir(), 'nsr-rest-'));
  try {
    const path = await kubeconfig(dir, 'http://127.0.0.1:1', { token: 't' });
    await assert.rejects(
      connect({ kubeconfig: path, context: 'nope' }),
      /context "nope" is not in the kubeconfig/,
    );
  } finally {
    await rm(dir, { recursive: true });
  }
});

test('answers no API server gives are malformed, never a SyntaxError or a TypeError', async (t) => {
  const answers: Record<string, [number, string]> = {
    '/html': [200, '<html>\n<body>proxy says hi</body>\n</html>'],
    '/items-string': [200, '{"items":"x"}'],
    '/items-numbers': [200, '{"items":[1,2]}'],
    '/list-array': [200, '[]'],
    '/endless': [200, '{"items":[],"metadata":{"continue":"again"}}'],
    '/error-page': [502, '<html>\n<h1>Bad gateway</h1>\n</html>'],
    '/forbidden': [
      403,
      JSON.stringify({ kind: 'Status', message: 'pods is forbidden: User "alice" cannot list' }),
    ],
    '/watch-junk': [200, '{"type":"ADDED"}\n'],
  };
  const srv = await server((s, res) => {
    const [status, body] = answers[s.url.split('?')[0] ?? ''] ?? [404, ''];
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(body);
  });
  t.after(() => srv.close());
  const dir = await mkdtemp(join(tmpdir(), 'nsr-rest-'));
  t.after(() => rm(dir, { recursive: true }));
  const rest = createRestClient(
    await connect({ kubeconfig: await kubeconfig(dir, srv.url, { token: 't' }) }),
    { timeoutMs: 2000, userAgent: 'test' },
  );
  const fails = async (p: Promise<unknown>, kind: string, detail: RegExp): Promise<void> => {
    await assert.rejects(p, (e: unknown) => {
      assert.ok(e instanceof ApiError);
      assert.equal(e.kind, kind);
      assert.match(e.message, detail);
      return true;
    });
  };
  await fails(rest.request('GET', '/html'), 'malformed', /the answer is not JSON: <html>\n<body>/);
  for (const path of ['/items-string', '/items-numbers', '/list-array'])
    await fails(
      eachPage(rest, path, { limit: 1 }, () => undefined),
      'malformed',
      /list answer/,
    );
  await fails(
    eachPage(rest, '/endless', { limit: 1 }, () => undefined),
    'malformed',
    /a list whose continue token does not advance/,
  );
  await fails(rest.request('GET', '/error-page'), 'server', /HTTP 502\): <html>\n<h1>Bad gateway/);
  // A Status message is read whole, quotes and all.
  await fails(
    rest.request('GET', '/forbidden'),
    'forbidden',
    /forbidden: User "alice" cannot list$/,
  );
  const watch = new AbortController();
  await fails(
    rest.watch('/watch-junk', { timeoutSeconds: 1 }, () => undefined, watch.signal),
    'malformed',
    /a watch event without a type and an object/,
  );
});

test('eachListed: a watch-list in batches up to its end bookmark; refused, pages instead', async (t) => {
  const added = (name: string): string =>
    JSON.stringify({ type: 'ADDED', object: { metadata: { name } } });
  const end = JSON.stringify({
    type: 'BOOKMARK',
    object: {
      metadata: { resourceVersion: '9', annotations: { 'k8s.io/initial-events-end': 'true' } },
    },
  });
  // /a streams five objects and the end (then stays open, as a watch does); /b refuses the watch
  // (a server without the WatchList gate) and answers pages; /c ends before the bookmark.
  const srv = await server((s, res) => {
    const watch = s.url.includes('watch=true');
    if (s.url.startsWith('/a') && watch) {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write(['p0', 'p1', 'p2', 'p3', 'p4'].map(added).join('\n') + `\n${end}\n`);
    } else if (s.url.startsWith('/b') && watch)
      json(res, 422, {
        kind: 'Status',
        code: 422,
        reason: 'Invalid',
        message: 'sendInitialEvents is forbidden',
      });
    else if (s.url.startsWith('/b'))
      json(res, 200, {
        items: s.url.includes('continue=')
          ? [{ metadata: { name: 'q1' } }]
          : [{ metadata: { name: 'q0' } }],
        metadata: s.url.includes('continue=') ? {} : { continue: 'next' },
      });
    else {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(`${added('r0')}\n`);
    }
  });
  t.after(() => srv.close());
  const dir = await mkdtemp(join(tmpdir(), 'nsr-rest-'));
  t.after(() => rm(dir, { recursive: true }));
  const conn = await connect({ kubeconfig: await kubeconfig(dir, srv.url, { token: 't' }) });
  const rest = createRestClient(conn, { timeoutMs: 2000, userAgent: 'test' });
  const names = (items: readonly unknown[]): string[] =>
    items.map((o) => (o as { metadata: { name: string } }).metadata.name);

  const batches: string[][] = [];
  await eachListed(rest, '/a', { labelSelector: 'x=y', limit: 2 }, (items) =>
    batches.push(names(items)),
  );
  assert.deepEqual(batches, [['p0', 'p1'], ['p2', 'p3'], ['p4']]);
  assert.match(
    srv.seen[0]?.url ?? '',
    /labelSelector=x%3Dy&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan&timeoutSeconds=\d+&watch=true/,
  );

  const paged: string[][] = [];
  await eachListed(rest, '/b', { limit: 1 }, (items) => paged.push(names(items)));
  assert.deepEqual(paged, [['q0'], ['q1']]);

  await assert.rejects(
    eachListed(rest, '/c', { limit: 10 }, () => undefined),
    (e: unknown) =>
      e instanceof ApiError && e.kind === 'malformed' && /ended before/.test(e.message),
  );
  const thrown = new Error('stop here');
  await assert.rejects(
    eachListed(rest, '/a', { limit: 1 }, () => {
      throw thrown;
    }),
    (e: unknown) => e === thrown,
  );
});
