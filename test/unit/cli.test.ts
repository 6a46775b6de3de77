import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../../src/config/config.js';
import { ConfigError, parseDuration } from '../../src/config/flags.js';
import { nsreport, runNsreport, type CliResult } from '../nsreport.js';

const run = (args: string[], env: Record<string, string> = {}): CliResult =>
  nsreport(args, { env });

test('bad flags: every problem named at once, exit code 2', () => {
  const r = run([
    'scan',
    '-o',
    'xml',
    '--host-pid',
    'abc',
    '--pod',
    'nope',
    '--cri-timeout',
    'soon',
  ]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--output: "xml"/);
  assert.match(r.stderr, /--host-pid: "abc"/);
  assert.match(r.stderr, /--pod: "nope"/);
  assert.match(r.stderr, /--cri-timeout: "soon"/);
});

test('unknown flags and commands exit 2 with a clear line', () => {
  const flag = run(['scan', '--frobnicate']);
  assert.equal(flag.code, 2);
  assert.match(flag.stderr, /frobnicate/);
  const cmd = run(['explode']);
  assert.equal(cmd.code, 2);
  assert.match(cmd.stderr, /unknown command "explode"/);
  const netns = run(['netns', 'link', 'no-slash']);
  assert.equal(netns.code, 2);
  assert.match(netns.stderr, /NAMESPACE\/POD/);
});

test('environment equivalents are validated like flags, and named as the variable', () => {
  const r = run(['scan'], { NSREPORT_HOST_PID: '0', NSREPORT_OUTPUT: 'csv' });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^nsreport: NSREPORT_HOST_PID: "0" is not a PID/m);
  assert.match(r.stderr, /^nsreport: NSREPORT_OUTPUT: "csv"/m);
});

test('an explicit CRI endpoint that does not exist: one clear line, exit 1', () => {
  const r = run(['scan', '--cri-endpoint', '/nonexistent/cri.sock']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /no CRI socket at this path/);
});

test('a --proc-root that is not procfs: one clear line, exit 2', () => {
  const r = run(['scan', '--proc-root', '/nonexistent']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--proc-root: \/nonexistent is not a procfs mount/);
});

test('help exits 0', () => {
  const r = run(['scan', '--help']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /--host-pid/);
});

test('config: flags beat env, durations parse', () => {
  const c = parseConfig(['scan', '--host-pid', '7'], {
    NSREPORT_HOST_PID: '9',
    NSREPORT_CRI_TIMEOUT: '250ms',
  });
  assert.ok(c.command === 'scan');
  assert.equal(c.hostPid, 7);
  assert.equal(c.criTimeoutMs, 250);
  assert.equal(parseDuration('2m'), 120_000);
  assert.equal(parseDuration('5'), null);
  assert.throws(() => parseConfig(['scan', 'extra'], {}), ConfigError);
});

test('agent: every bad flag named at once, exit 2', () => {
  const r = run(
    [
      'agent',
      '--resync',
      'often',
      '--qps=-1',
      '--burst',
      '2.5',
      '--metrics-addr',
      'nope',
      '--log-level',
      'loud',
    ],
    { NODE_NAME: '' },
  );
  assert.equal(r.code, 2);
  for (const flag of [
    '--resync',
    '--qps',
    '--burst',
    '--metrics-addr',
    '--log-level',
    '--node-name',
  ]) {
    assert.match(r.stderr, new RegExp(flag), flag);
  }
});

test('agent: defaults and env equivalents', () => {
  const c = parseConfig(['agent'], {
    NODE_NAME: 'n1',
    NSREPORT_RESYNC: '10s',
    NSREPORT_METRICS_ADDR: '127.0.0.1:9999',
  });
  assert.ok(c.command === 'agent');
  assert.equal(c.nodeName, 'n1');
  assert.equal(c.resyncMs, 10_000);
  assert.equal(c.qps, 5);
  assert.equal(c.burst, 10);
  assert.deepEqual(c.metricsAddr, { host: '127.0.0.1', port: 9999 });
  assert.equal(c.kubeconfig, null);
});

test('a reader that closes stdout ends the command quietly, with its own exit code', async () => {
  for (const args of [['help'], ['version', '--client'], ['scan', '--help']]) {
    const r = await runNsreport(args, { timeoutMs: 10_000, closeStdout: true });
    assert.equal(r.timedOut, false, args.join(' '));
    assert.equal(r.stderr, '', args.join(' '));
    assert.equal(r.code, 0, args.join(' '));
  }
});
