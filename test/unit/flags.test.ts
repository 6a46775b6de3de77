import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { agent } from '../../src/config/agent.js';
import { audit } from '../../src/config/audit.js';
import { describe } from '../../src/config/describe.js';
import { parseConfig } from '../../src/config/config.js';
import { netns } from '../../src/config/netns.js';
import { scan } from '../../src/config/scan.js';
import { version } from '../../src/config/version.js';
import {
  ConfigError,
  MAX_TIMER_MS,
  parseDuration,
  parseFlags,
  parsePodRef,
  type FlagDefs,
} from '../../src/config/flags.js';

/** The problems parseConfig throws for a command line (none: []). */
function problems(argv: string[], env: Record<string, string> = {}): readonly string[] {
  try {
    parseConfig(argv, env);
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
}

const DEFS: FlagDefs = {
  output: { type: 'string', short: 'o', help: '' },
  client: { type: 'boolean', short: 'c', help: '', env: true },
  node: { type: 'string', help: '', env: true, envFallback: 'NODE_NAME' },
};

test('every problem of the command line at once: unknown flags, missing values, booleans with values', () => {
  const p = parseFlags(['--bogus', '-xy', '--client=maybe', '-o'], DEFS, {}, 'cmd');
  assert.deepEqual(p.problems, [
    'unknown flag "--bogus"',
    'unknown flag "-xy"',
    '--client: "maybe" is not true or false',
    '--output: missing value',
  ]);
});

test('a flag as the next argument is a missing value; a negative number is a value', () => {
  assert.deepEqual(parseFlags(['-o', '--client'], DEFS, {}).problems, [
    '--output: missing value ("--client" is a flag; write --output=--client if it is the value)',
  ]);
  assert.deepEqual(parseFlags(['-o', '-1'], DEFS, {}).values.output, '-1');
  assert.deepEqual(parseFlags(['-o=json'], DEFS, {}).values.output, 'json');
  assert.deepEqual(parseFlags(['--output=-x'], DEFS, {}).values.output, '-x');
  assert.equal(parseFlags(['--client=false'], DEFS, {}).values.client, false);
});

test('unknown flags near a known one say which', () => {
  assert.deepEqual(problems(['agent', '--resynch', '5s', '--node-name', 'n']), [
    'unknown flag "--resynch" (did you mean --resync?)',
    'agent takes no arguments (got "5s")',
  ]);
});

test('the environment: an empty variable is unset, a fallback variable is named as itself', () => {
  const p = parseFlags([], DEFS, { NSREPORT_CLIENT: '', NSREPORT_NODE: '', NODE_NAME: 'n1' });
  assert.equal(p.values.client, undefined);
  assert.equal(p.values.node, 'n1');
  assert.equal(p.sources.node, 'NODE_NAME');
  assert.deepEqual(parseFlags([], DEFS, { NSREPORT_CLIENT: 'yes' }).problems, [
    'NSREPORT_CLIENT: "yes" is not true or false',
  ]);
  assert.deepEqual(problems(['agent'], { NODE_NAME: 'Bad Name' }), [
    'NODE_NAME: "Bad Name" is not a Kubernetes name (DNS-1123 subdomain: at most 253 of a-z, 0-9, "-" and ".", a letter or digit at each end)',
  ]);
});

test('durations: a timer must hold them, and the unit must be one nsreport knows', () => {
  assert.equal(parseDuration('596h'), 596 * 3_600_000);
  assert.ok(596 * 3_600_000 <= MAX_TIMER_MS);
  assert.equal(parseDuration('9'.repeat(400) + 'h'), null);
  const bad = (v: string): string | undefined =>
    problems(['agent', '--node-name', 'n', '--resync', v])[0];
  assert.match(bad('600h') ?? '', /longer than a timer can wait \(at most 596h/);
  assert.match(bad(`${MAX_TIMER_MS + 1}ms`) ?? '', /longer than a timer can wait/);
  assert.equal(bad(`${MAX_TIMER_MS}ms`), undefined);
  assert.match(bad('5') ?? '', /"5" has no unit/);
  assert.match(bad('5d') ?? '', /unknown unit "d"/);
  assert.match(bad('0s') ?? '', /not a positive duration/);
  assert.match(bad('-5s') ?? '', /not a positive duration/);
  assert.match(bad('500ms') ?? '', /less than 1000ms/);
  assert.match(problems(['audit', '--request-timeout', '0.1ms'])[0] ?? '', /not a positive/);
});

test('numbers: ranges a timer, a PID table and an API server hold', () => {
  const agent = (...a: string[]): readonly string[] =>
    problems(['agent', '--node-name', 'n', ...a]);
  assert.deepEqual(agent('--qps', '0.001', '--burst', '10000'), []);
  assert.match(agent('--qps', '0.0001')[0] ?? '', /"0.0001" is not a number from 0.001 to 10000/);
  assert.match(agent('--qps', '9'.repeat(400))[0] ?? '', /is not a number from/);
  assert.match(agent('--burst', '99999999999999999999')[0] ?? '', /not an integer from 1 to 10000/);
  assert.match(
    agent('--host-pid', '4194305')[0] ?? '',
    /not a PID \(an integer from 1 to 4194304\)/,
  );
  assert.deepEqual(agent('--host-pid', '4194304'), []);
  assert.match(
    agent('--metrics-addr', ':65536')[0] ?? '',
    /--metrics-addr: ":65536" is not HOST:PORT/,
  );
  assert.match(agent('--metrics-addr', 'a b:80')[0] ?? '', /--metrics-addr/);
  assert.deepEqual(agent('--metrics-addr', 'localhost:9090'), []);
  assert.match(
    problems(['audit', '--page-size', '10001'])[0] ?? '',
    /not an integer from 1 to 10000/,
  );
});

test('names: the API server would take them', () => {
  assert.deepEqual(parsePodRef('kube-system/coredns-5d.x'), {
    namespace: 'kube-system',
    name: 'coredns-5d.x',
  });
  for (const bad of ['a/b/c', 'A/b', 'a/B', 'a/b..c', 'a/', '/b', `${'a'.repeat(64)}/b`, 'a/-b'])
    assert.equal(parsePodRef(bad), null, bad);
  assert.equal(parsePodRef(`a/${'b'.repeat(253)}`)?.name.length, 253);
  assert.equal(parsePodRef(`a/${'b'.repeat(254)}`), null);
  assert.deepEqual(
    problems(['audit', '-n', 'Bad NS!', '--node', 'x_y', '--finding', 'NSR999', '--context', '']),
    [
      '--namespace: "Bad NS!" is not a namespace name (DNS-1123 label: at most 63 of a-z, 0-9 and "-", a letter or digit at each end)',
      '--context: must not be empty',
      '--node: "x_y" is not a Kubernetes name (DNS-1123 subdomain: at most 253 of a-z, 0-9, "-" and ".", a letter or digit at each end)',
      '--finding: "NSR999" is not a finding id (NSR001 to NSR016)',
    ],
  );
});

test('CRI endpoints: a unix socket, by an absolute path', () => {
  const scan = (e: string): readonly string[] => problems(['scan', '--cri-endpoint', e]);
  assert.deepEqual(scan('unix:///run/x.sock'), []);
  assert.deepEqual(scan('/run/x.sock'), []);
  assert.deepEqual(scan(''), ['--cri-endpoint: must not be empty']);
  assert.match(scan('tcp://1.2.3.4:1')[0] ?? '', /unix socket .* not tcp:\/\//);
  assert.match(scan('run/x.sock')[0] ?? '', /is not an absolute socket path/);
});

test('help: a command it does not know is bad usage', () => {
  assert.deepEqual(parseConfig(['help', 'scan'], {}), { command: 'help', topic: 'scan' });
  assert.deepEqual(parseConfig(['audit', '-n', 'x', '--help'], {}), {
    command: 'help',
    topic: 'audit',
  });
  assert.match(problems(['help', 'bogus'])[0] ?? '', /^unknown command "bogus"/);
  assert.match(problems(['bogus', '--help'])[0] ?? '', /^unknown command "bogus"/);
  assert.deepEqual(problems(['help', 'scan', 'x']), ['help takes one command (got "scan x")']);
});

test('a value is quoted as given (the writer of stderr escapes it) and a long one cut', () => {
  assert.deepEqual(problems(['scan', '-o', 'a\nb']), [
    '--output: "a\nb" is not one of table, wide, json, yaml',
  ]);
  assert.deepEqual(problems(['scan', '--node-name', 'n'.repeat(300)]), [
    `--node-name: "${'n'.repeat(79)}…" is not a Kubernetes name (DNS-1123 subdomain: at most 253 of a-z, 0-9, "-" and ".", a letter or digit at each end)`,
  ]);
});

test('property: any command line and environment is a config or a ConfigError naming its problems', () => {
  const flagNames = [
    ...new Set(
      [scan, agent, audit, describe, netns, version].flatMap((c) =>
        Object.entries(c.flags).flatMap(([k, d]) => [
          `--${k}`,
          ...(d.short ? [`-${d.short}`] : []),
        ]),
      ),
    ),
  ];
  const word = fc.oneof(
    fc.constantFrom(...flagNames),
    fc.constantFrom(...flagNames).map((f) => `${f}=`),
    fc.string({ maxLength: 12 }),
    fc.constantFrom('-', '--', '-1', '0', '600h', 'a/b', '', '\n', 'true', '99999999999999999999'),
  );
  const command = fc.constantFrom(
    'scan',
    'agent',
    'audit',
    'describe',
    'completion',
    '__complete',
    'version',
    'netns',
    'help',
    '--version',
    'x',
  );
  const env = fc.dictionary(
    fc.constantFrom(
      'NSREPORT_OUTPUT',
      'NSREPORT_HOST_PID',
      'NSREPORT_RESYNC',
      'NSREPORT_OPENREPORTS',
      'NSREPORT_NAMESPACE',
      'NSREPORT_CRI_ENDPOINT',
      'NODE_NAME',
      'KUBECONFIG',
    ),
    fc.string({ maxLength: 10 }),
  );
  fc.assert(
    fc.property(command, fc.array(word, { maxLength: 8 }), env, (cmd, args, vars) => {
      try {
        parseConfig([cmd, ...args], vars);
      } catch (err) {
        assert.ok(err instanceof ConfigError, String(err));
        assert.ok(err.problems.length > 0);
        for (const p of err.problems) assert.ok(typeof p === 'string' && p.length > 0);
      }
    }),
    { numRuns: 500 },
  );
});
