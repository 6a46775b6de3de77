import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { inspect } from '../../src/inspect/inspect.js';
import { buildReport } from '../../src/report/report.js';
import { nsreport, spawnNsreport, type CliResult } from '../nsreport.js';
import { HOST_NS, sample, sandbox, snapshot } from './snapshot.js';

/**
 * The commands as a user runs them, on hostile text: every line they print on a terminal, on
 * stdout and stderr, holds no control character but its newline, whoever wrote the text (here
 * a forged report, a DaemonSet's labels and an API server's error, served by a local server).
 */
const TITLE = '\u001b]0;pwned\u0007';
const CLEAR = '\u001b[2J';
const C1 = '\u009b2J';

// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

function assertSafe(r: CliResult): void {
  assert.doesNotMatch(r.stdout, CONTROL, r.stdout);
  assert.doesNotMatch(r.stderr, CONTROL, r.stderr);
}

test('stderr: a hostile --proc-root or flag value is one escaped line', () => {
  const proc = nsreport(['scan', '--proc-root', `/nonexistent${CLEAR}\nALL CLEAR`]);
  assert.equal(proc.code, 2);
  assertSafe(proc);
  assert.equal(
    proc.stderr,
    'nsreport: --proc-root: /nonexistent\\x1b[2J\\nALL CLEAR is not a procfs mount (no self/ns in it)\n',
  );
  const flag = nsreport(['scan', '-o', `x${TITLE}`]);
  assert.equal(flag.code, 2);
  assertSafe(flag);
  assert.match(flag.stderr, /--output: "x\\x1b\]0;pwned\\x07"/);
});

/** The report the agent would write of a hostNetwork pod, then forged with escapes. */
function forgedReport(): object {
  const c = sample('app', { ns: { ...HOST_NS, mnt: 102 }, privileged: true });
  const networks = new Map([
    [
      HOST_NS.net ?? 1,
      {
        interfaces: [],
        listeners: [
          {
            protocol: 'tcp' as const,
            address: '0.0.0.0',
            port: 80,
            container: `app${CLEAR}`,
            containerId: 'id-app',
          },
        ],
      },
    ],
  ]);
  const [pod] = inspect(snapshot([sandbox([c], { network: 'NODE' })], { networks }));
  assert.ok(pod);
  const r = buildReport(pod, null);
  return {
    ...r,
    metadata: { ...r.metadata, name: `=HYPERLINK("http://x")${TITLE}` },
    report: {
      ...r.report,
      node: `-2+3${C1}`,
      findings: r.report.findings.map((f) => ({ ...f, id: `${f.id}${CLEAR}` })),
    },
  };
}

/** An answer: JSON, or raw text (what a proxy in front of the API server may say). */
type Answer = { status: number; body: unknown };

/** A local API server answering GETs by path; closed by the test. */
async function apiServer(
  t: { after: (fn: () => Promise<void>) => void },
  answer: (path: string) => Answer,
): Promise<string> {
  const srv = http.createServer((req, res) => {
    const a = answer(new URL(req.url ?? '/', 'http://x').pathname);
    const raw = typeof a.body === 'string';
    res.writeHead(a.status, { 'Content-Type': raw ? 'text/plain' : 'application/json' });
    res.end(raw ? a.body : JSON.stringify(a.body));
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const dir = await mkdtemp(join(tmpdir(), 'nsreport-cli-'));
  t.after(async () => {
    srv.closeAllConnections();
    await new Promise((r) => srv.close(r));
    await rm(dir, { recursive: true, force: true });
  });
  const path = join(dir, 'kubeconfig');
  await writeFile(
    path,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      'current-context': 'c',
      contexts: [{ name: 'c', context: { cluster: 'k', user: 'u' } }],
      clusters: [
        {
          name: 'k',
          cluster: { server: `http://127.0.0.1:${String((srv.address() as AddressInfo).port)}` },
        },
      ],
      users: [{ name: 'u', user: { token: 't' } }],
    }),
  );
  return path;
}

/** `nsreport ARGS` in the background, so that this process's server can answer it. */
function run(args: string[]): Promise<CliResult> {
  const child = spawnNsreport(args);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  return new Promise((resolve) =>
    child.on('close', (code) => {
      resolve({ code, stdout, stderr });
    }),
  );
}

const list = (items: unknown[]): Answer => ({
  status: 200,
  body: { kind: 'List', metadata: { resourceVersion: '1' }, items },
});

function cluster(path: string): Answer {
  if (path === '/api/v1/pods') return list([]);
  if (path === '/apis/nsreport.dev/v1alpha1/namespacereports') return list([forgedReport()]);
  if (path === '/api/v1/nodes') return list([{ metadata: { name: `-2+3${C1}` } }]);
  if (path === '/apis/apps/v1/daemonsets')
    return list([
      {
        metadata: {
          namespace: 'nsreport',
          name: 'nsreport',
          labels: { 'app.kubernetes.io/version': `0.1.0${CLEAR}` },
        },
        spec: { template: { spec: { containers: [{ name: 'a', image: `img${TITLE}` }] } } },
        status: { numberReady: 1, desiredNumberScheduled: 1 },
      },
    ]);
  return { status: 404, body: { kind: 'Status', message: 'not found' } };
}

test('audit table, wide and csv of a forged report: escaped; csv cells guarded against formulas', async (t) => {
  const kubeconfig = await apiServer(t, cluster);
  for (const output of ['table', 'wide']) {
    const r = await run(['audit', '--kubeconfig', kubeconfig, '-o', output]);
    assert.equal(r.code, 0, r.stderr);
    assertSafe(r);
    assert.match(r.stdout, /^NODE -2\+3\\x9b2J: 1 pods, 1 hostNetwork$/m);
    assert.match(r.stdout, /shop\/=HYPERLINK\("http:\/\/x"\)\\x1b/);
  }
  const csv = await run(['audit', '--kubeconfig', kubeconfig, '-o', 'csv']);
  assert.equal(csv.code, 0, csv.stderr);
  assertSafe(csv);
  const [, row = ''] = csv.stdout.split('\n');
  // A cell a spreadsheet would compute starts with a quote; quotes inside it are doubled.
  assert.match(
    row,
    /^'-2\+3\\x9b2J,shop,"'=HYPERLINK\(""http:\/\/x""\)\\x1b\]0;pwned\\x07",true,.*,tcp\/80 \(app\\x1b\[2J\),/,
  );
  const json = await run(['audit', '--kubeconfig', kubeconfig, '-o', 'json']);
  assert.equal(json.code, 0, json.stderr);
  assert.ok(json.stdout.includes('"name": "=HYPERLINK(\\"http://x\\")\\u001b]0;pwned\\u0007"'));
});

test('version: the agents line of a DaemonSet with hostile labels and image is escaped', async (t) => {
  const kubeconfig = await apiServer(t, cluster);
  const r = await run(['version', '--kubeconfig', kubeconfig]);
  assert.equal(r.code, 0, r.stderr);
  assertSafe(r);
  assert.match(
    r.stdout,
    /^agent nsreport\/nsreport: 0\.1\.0\\x1b\[2J \(image img\\x1b\]0;pwned\\x07\), 1 of 1 ready$/m,
  );
});

test("audit: an API server's error text is one escaped line on stderr", async (t) => {
  const kubeconfig = await apiServer(t, () => ({ status: 502, body: `boom${CLEAR}\nALL CLEAR` }));
  const r = await run(['audit', '--kubeconfig', kubeconfig]);
  assert.equal(r.code, 1);
  assertSafe(r);
  assert.equal(r.stderr.split('\n').length, 2, r.stderr);
  assert.match(r.stderr, /boom\\x1b\[2J\\nALL CLEAR/);
});
