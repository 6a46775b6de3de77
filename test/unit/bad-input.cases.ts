/**
 * The bad-input table: every way nsreport can be given something wrong, what it exits with and
 * what it says. test/unit/bad-input.test.ts runs every row against the built CLI (with the fakes
 * FIXTURES names) and checks the exit code, that stderr is exactly the lines of the row, that
 * there is no stack trace and no hang; `npm run docs` writes docs/bad-input.md from it.
 *
 * A row is data only, so that another file's rows can join: export a `readonly BadInput[]` and
 * add it to BAD_INPUTS below (the netns rewrite brings test/unit/netns-cases.ts this way).
 */

/**
 * How long a row may run before it counts as a hang: far above the 1 s deadlines the rows set,
 * and above what a loaded 2-core CI machine takes to start Node and client-node (~1 s alone).
 */
export const ROW_TIMEOUT_MS = 20_000;

/** Where a row goes on the page. */
export type Topic =
  | 'Commands and help'
  | 'scan flags'
  | 'agent flags'
  | 'audit flags'
  | 'version flags'
  | 'netns arguments'
  | 'describe arguments'
  | 'The environment'
  | 'Several problems at once'
  | 'A reader that stops reading'
  | 'Kubeconfig'
  | 'Container runtime (CRI)'
  | 'Kubernetes API'
  | 'procfs';

export interface BadInput {
  readonly topic: Topic;
  /** What is wrong, in a few words. */
  readonly what: string;
  /**
   * What follows `nsreport`. `$FIXTURES` is the test's directory of fakes (FIXTURES), `$API` the
   * URL of its fake API server, `$BUSY_PORT` a TCP port something already listens on.
   */
  readonly args: readonly string[];
  /** Environment of the run (besides PATH, and HOME=$FIXTURES/home); same placeholders. */
  readonly env?: Readonly<Record<string, string>>;
  readonly exit: number;
  /** stderr, every line of it, in order; `…` stands for any text (an OS's or a library's words). */
  readonly stderr: readonly string[];
  /** A line stdout must have (same `…`), for the rows that still print their result. */
  readonly stdout?: string;
  /** The reader closes stdout at once (`nsreport … | head -0`). */
  readonly closeStdout?: boolean;
}

/** What each fake under $FIXTURES is (the test makes them; the page lists them). */
export const FIXTURES: Readonly<Record<string, string>> = {
  'cri-ok.sock':
    'a fake CRI runtime (gRPC) answering every call: pod `shop/web` (container `app`, PID 200), and a sandbox whose pod name is empty',
  'cri-unimplemented.sock': 'a gRPC server that implements no CRI call (UNIMPLEMENTED)',
  'cri-denied.sock': 'a gRPC server answering PERMISSION_DENIED to every call',
  'cri-garbage.sock': 'a gRPC server answering bytes that are not the CRI message',
  'cri-silent.sock': 'a gRPC server that takes every call and never answers',
  'not-grpc.sock': 'a unix socket answering `HTTP/1.1 400` to anything',
  'dead.sock': 'a unix socket whose listener was killed: nobody accepts',
  'file.sock': 'a regular file',
  proc: "a procfs-shaped tree: the host's PID 1 and the container's PID 200",
  'proc-no-host': 'the same without PID 1 (the host reference)',
  'proc-bad-mountinfo': "the same, PID 200's mountinfo garbage and cut mid-line",
  'proc-bad-ns': "the same, PID 200's namespace entries files instead of links",
  'proc-bad-net': "the same, PID 200's network files garbage",
  'no-such-dir': 'nothing (a path that does not exist)',
  home: 'an empty home directory (no ~/.kube/config)',
  'api-ok.kubeconfig':
    'a kubeconfig of the fake API server: Pod and report `shop/web`, an agent DaemonSet',
  'api-no-body.kubeconfig': 'the same, the report without a body',
  'api-pods-forbidden.kubeconfig': 'the same, listing Pods forbidden (403)',
  'api-401.kubeconfig': 'the fake API server answering 401 Unauthorized',
  'api-403.kubeconfig': 'the fake API server answering 403 Forbidden (RBAC)',
  'api-no-crd.kubeconfig': 'the fake API server without the NamespaceReport CRD (404)',
  'api-500.kubeconfig': 'the fake API server answering 500 (etcd timed out)',
  'api-garbage.kubeconfig': 'the fake API server answering an HTML page with 200',
  'api-not-a-list.kubeconfig': 'the fake API server answering a list whose items are not a list',
  'api-hang.kubeconfig': 'the fake API server never answering',
  'api-endless.kubeconfig': 'the fake API server handing back the same continue token for ever',
  'api-down.kubeconfig': 'a server nothing listens on (127.0.0.1:1)',
  'missing.kubeconfig': 'nothing',
  'not-yaml.kubeconfig': 'text that is not YAML',
  'scalar.kubeconfig': 'YAML that is a string, not a mapping',
  'no-context.kubeconfig': 'a kubeconfig without current-context',
  'no-server.kubeconfig': 'a cluster without a server',
  'bad-url.kubeconfig': 'a server that is not a URL',
  'ftp.kubeconfig': 'a server with the scheme ftp://',
  'no-scheme.kubeconfig':
    'a server `api.example:6443`, which a URL parser reads as the scheme `api.example:`',
  'missing-ca.kubeconfig': 'a certificate-authority file that does not exist',
  'bad-ca.kubeconfig': 'certificate-authority-data that is not a certificate',
  'bad-client-key.kubeconfig': 'client certificate and key data that are not PEM',
  'missing-token.kubeconfig': 'a tokenFile that does not exist',
  'exec-fails.kubeconfig': 'an exec credential plugin that says "login required" and exits 3',
  'exec-junk.kubeconfig': 'an exec credential plugin that prints something that is not JSON',
  'exec-missing.kubeconfig': 'an exec credential plugin that does not exist',
  'exec-hangs.kubeconfig':
    'an exec credential plugin that never answers (it waits for nsreport to end)',
};

const row = (
  topic: Topic,
  what: string,
  args: readonly string[],
  exit: number,
  stderr: readonly string[],
  more: Partial<Pick<BadInput, 'env' | 'stdout' | 'closeStdout'>> = {},
): BadInput => ({ topic, what, args, exit, stderr, ...more });

const usage = (problems: readonly string[]): string[] => problems.map((p) => `nsreport: ${p}`);

/* Messages written once here, as a user reads them. */
const DURATION = (v: string): string =>
  `"${v}" is not a positive duration (e.g. 500ms, 30s, 2m, 1h)`;
const TOO_LONG = (v: string): string =>
  `"${v}" is longer than a timer can wait (at most 596h, 2^31-1 ms)`;
const NO_UNIT = (v: string): string => `"${v}" has no unit (ms, s, m or h; e.g. 30s)`;
const UNIT = (v: string, u: string): string => `"${v}": unknown unit "${u}" (ms, s, m or h)`;
const LABEL_NAME =
  'is not a namespace name (DNS-1123 label: at most 63 of a-z, 0-9 and "-", a letter or digit at each end)';
const SUBDOMAIN =
  'is not a Kubernetes name (DNS-1123 subdomain: at most 253 of a-z, 0-9, "-" and ".", a letter or digit at each end)';
const PID = (v: string): string => `"${v}" is not a PID (an integer from 1 to 4194304)`;
const SCAN_OUTPUT = 'table, wide, json, yaml';
const AUDIT_OUTPUT = 'table, wide, json, csv';
const THRESHOLDS = 'low, medium, high, critical';
const LISTEN = (v: string): string =>
  `--metrics-addr: "${v}" is not HOST:PORT with a port from 1 to 65535 (e.g. :9090, 127.0.0.1:9090, [::1]:9090)`;
const COMMANDS =
  'commands: scan, agent, audit, describe, netns, version, completion; try: nsreport help';

/** Every bad value of a duration flag. */
function durations(topic: Topic, command: readonly string[], flag: string): BadInput[] {
  const bad = (what: string, v: string, message: string): BadInput =>
    row(
      topic,
      `--${flag} ${what}`,
      [...command, `--${flag}`, v],
      2,
      usage([`--${flag}: ${message}`]),
    );
  return [
    bad('empty', '', DURATION('')),
    bad('malformed', 'soon', DURATION('soon')),
    bad('negative', '-5s', DURATION('-5s')),
    bad('zero', '0s', DURATION('0s')),
    bad('below a millisecond', '0.2ms', DURATION('0.2ms')),
    bad('past a timer (2^31-1 ms)', '600h', TOO_LONG('600h')),
    bad('past a timer by 1 ms', '2147483648ms', TOO_LONG('2147483648ms')),
    bad('without a unit', '5', NO_UNIT('5')),
    bad('in days', '5d', UNIT('5d', 'd')),
    bad('compound (Go style)', '1h30m', DURATION('1h30m')),
  ];
}

const SCAN = ['scan'];
/** The agent's flags beside the one a row is about: a name, so that only that one is wrong. */
const AGENT = ['agent', '--node-name', 'n1'];
const AUDIT = ['audit'];
const DESCRIBE = ['describe'];
const VERSION = ['version'];

// prettier-ignore
const COMMAND_ROWS: BadInput[] = [
  row('Commands and help', 'an unknown command', ['explode'], 2, usage([`unknown command "explode" (${COMMANDS})`])),
  row('Commands and help', 'a flag for a command', ['--bogus'], 2, usage([`unknown command "--bogus" (${COMMANDS})`])),
  row('Commands and help', 'help for an unknown command', ['help', 'explode'], 2, usage([`unknown command "explode" (${COMMANDS})`])),
  row('Commands and help', '--help of an unknown command', ['explode', '--help'], 2, usage([`unknown command "explode" (${COMMANDS})`])),
  row('Commands and help', 'help with two topics', ['help', 'scan', 'audit'], 2, usage(['help takes one command (got "scan audit")'])),
  row('Commands and help', 'a command in capitals', ['SCAN'], 2, usage([`unknown command "SCAN" (${COMMANDS})`])),
  row('Commands and help', '--version with an unknown flag', ['--version', '--bogus'], 2, usage(['unknown flag "--bogus"'])),
  row('Commands and help', 'an empty command', [''], 2, usage([`unknown command "" (${COMMANDS})`])),
];

// prettier-ignore
const SCAN_ROWS: BadInput[] = [
  row('scan flags', 'an unknown flag', [...SCAN, '--bogus'], 2, usage(['unknown flag "--bogus"'])),
  row('scan flags', 'an unknown flag near a known one', [...SCAN, '--outptu', 'json'], 2, usage(['unknown flag "--outptu" (did you mean --output?)', 'scan takes no arguments (got "json")'])),
  row('scan flags', 'an unknown short flag', [...SCAN, '-x'], 2, usage(['unknown flag "-x"'])),
  row('scan flags', 'unknown short flags grouped', [...SCAN, '-xyz'], 2, usage(['unknown flag "-xyz"'])),
  row('scan flags', 'an unknown flag with a value', [...SCAN, '--bogus=1'], 2, usage(['unknown flag "--bogus"'])),
  row('scan flags', 'a positional argument', [...SCAN, 'extra'], 2, usage(['scan takes no arguments (got "extra")'])),
  row('scan flags', 'two positional arguments', [...SCAN, 'a', 'b'], 2, usage(['scan takes no arguments (got "a b")'])),
  row('scan flags', '--output without a value', [...SCAN, '-o'], 2, usage(['--output: missing value'])),
  row('scan flags', '--output followed by a flag', [...SCAN, '-o', '--pod', 'a/b'], 2, usage(['--output: missing value ("--pod" is a flag; write --output=--pod if it is the value)', 'scan takes no arguments (got "a/b")'])),
  row('scan flags', '--output empty', [...SCAN, '-o', ''], 2, usage([`--output: "" is not one of ${SCAN_OUTPUT}`])),
  row('scan flags', '--output unknown', [...SCAN, '-o', 'xml'], 2, usage([`--output: "xml" is not one of ${SCAN_OUTPUT}`])),
  row('scan flags', '--output in capitals', [...SCAN, '-o', 'JSON'], 2, usage([`--output: "JSON" is not one of ${SCAN_OUTPUT}`])),
  row('scan flags', '--output csv (the audit has it, scan not)', [...SCAN, '--output=csv'], 2, usage([`--output: "csv" is not one of ${SCAN_OUTPUT}`])),
  row('scan flags', '--output with a newline', [...SCAN, '-o', 'json\nyaml'], 2, usage([`--output: "json\\nyaml" is not one of ${SCAN_OUTPUT}`])),
  row('scan flags', '--cri-endpoint empty', [...SCAN, '--cri-endpoint', ''], 2, usage(['--cri-endpoint: must not be empty'])),
  row('scan flags', '--cri-endpoint over TCP', [...SCAN, '--cri-endpoint', 'tcp://10.0.0.1:10010'], 2, usage(['--cri-endpoint: "tcp://10.0.0.1:10010": CRI runtimes listen on a unix socket (a path or unix:///path), not tcp://'])),
  row('scan flags', '--cri-endpoint relative', [...SCAN, '--cri-endpoint', 'run/containerd.sock'], 2, usage(['--cri-endpoint: "run/containerd.sock" is not an absolute socket path'])),
  row('scan flags', '--cri-endpoint unix:// without a path', [...SCAN, '--cri-endpoint', 'unix://'], 2, usage(['--cri-endpoint: "unix://" is not an absolute socket path'])),
  ...durations('scan flags', SCAN, 'cri-timeout'),
  row('scan flags', '--proc-root empty', [...SCAN, '--proc-root', ''], 2, usage(['--proc-root: "" is not an absolute path'])),
  row('scan flags', '--proc-root relative', [...SCAN, '--proc-root', 'proc'], 2, usage(['--proc-root: "proc" is not an absolute path'])),
  row('scan flags', '--host-pid empty', [...SCAN, '--host-pid', ''], 2, usage([`--host-pid: ${PID('')}`])),
  row('scan flags', '--host-pid malformed', [...SCAN, '--host-pid', 'init'], 2, usage([`--host-pid: ${PID('init')}`])),
  row('scan flags', '--host-pid negative', [...SCAN, '--host-pid', '-1'], 2, usage([`--host-pid: ${PID('-1')}`])),
  row('scan flags', '--host-pid zero', [...SCAN, '--host-pid', '0'], 2, usage([`--host-pid: ${PID('0')}`])),
  row('scan flags', '--host-pid past PID_MAX_LIMIT', [...SCAN, '--host-pid', '4194305'], 2, usage([`--host-pid: ${PID('4194305')}`])),
  row('scan flags', '--host-pid past 2^64', [...SCAN, '--host-pid', '99999999999999999999'], 2, usage([`--host-pid: ${PID('99999999999999999999')}`])),
  row('scan flags', '--host-pid fractional', [...SCAN, '--host-pid', '1.5'], 2, usage([`--host-pid: ${PID('1.5')}`])),
  row('scan flags', '--host-pid in hex', [...SCAN, '--host-pid', '0x10'], 2, usage([`--host-pid: ${PID('0x10')}`])),
  row('scan flags', '--node-name empty', [...SCAN, '--node-name', ''], 2, usage([`--node-name: "" ${SUBDOMAIN}`])),
  row('scan flags', '--node-name in capitals', [...SCAN, '--node-name', 'Node-1'], 2, usage([`--node-name: "Node-1" ${SUBDOMAIN}`])),
  row('scan flags', '--node-name with a space', [...SCAN, '--node-name', 'node 1'], 2, usage([`--node-name: "node 1" ${SUBDOMAIN}`])),
  row('scan flags', '--node-name longer than 253', [...SCAN, '--node-name', 'n'.repeat(254)], 2, usage([`--node-name: "${'n'.repeat(79)}…" ${SUBDOMAIN}`])),
  row('scan flags', '--pod empty', [...SCAN, '--pod', ''], 2, usage(['--pod: "" is not NAMESPACE/NAME (a namespace and a pod name)'])),
  row('scan flags', '--pod without a namespace', [...SCAN, '--pod', 'web'], 2, usage(['--pod: "web" is not NAMESPACE/NAME (a namespace and a pod name)'])),
  row('scan flags', '--pod with three parts', [...SCAN, '--pod', 'a/b/c'], 2, usage(['--pod: "a/b/c" is not NAMESPACE/NAME (a namespace and a pod name)'])),
  row('scan flags', '--pod in capitals', [...SCAN, '--pod', 'Shop/Web'], 2, usage(['--pod: "Shop/Web" is not NAMESPACE/NAME (a namespace and a pod name)'])),
  row('scan flags', '--pod with a namespace longer than 63', [...SCAN, '--pod', `${'a'.repeat(64)}/web`], 2, usage([`--pod: "${'a'.repeat(64)}/web" is not NAMESPACE/NAME (a namespace and a pod name)`])),
  row('scan flags', '--pod with a name of two dots', [...SCAN, '--pod', 'shop/web..1'], 2, usage(['--pod: "shop/web..1" is not NAMESPACE/NAME (a namespace and a pod name)'])),
  row('scan flags', '--accept not JSON: a warning, the scan goes on', [...SCAN, '--cri-endpoint', '$FIXTURES/cri-ok.sock', '--proc-root', '$FIXTURES/proc', '--accept', 'NSR001'], 0, ['nsreport: warning: --accept: not JSON (…): nothing accepted (ignored)', 'nsreport: warning: sandbox "sb-empty": pod name "" is not a Kubernetes object name (DNS-1123 subdomain): no report'], { stdout: 'shop …web …app …200 …' }),
  row('scan flags', '--accept an entry without a reason', [...SCAN, '--cri-endpoint', '$FIXTURES/cri-ok.sock', '--proc-root', '$FIXTURES/proc', '--accept', '[{"finding":"NSR001","namespace":"shop"}]'], 0, ['nsreport: warning: --accept: entry 1: "reason" is required (ignored)', 'nsreport: warning: sandbox "sb-empty": pod name "" is not a Kubernetes object name (DNS-1123 subdomain): no report']),
  row('scan flags', '--accept-annotations-in not a namespace', [...SCAN, '--cri-endpoint', '$FIXTURES/cri-ok.sock', '--proc-root', '$FIXTURES/proc', '--accept-annotations-in', 'Shop'], 0, ['nsreport: warning: --accept-annotations-in: "Shop" is not a namespace (ignored)', 'nsreport: warning: sandbox "sb-empty": pod name "" is not a Kubernetes object name (DNS-1123 subdomain): no report']),
  row('scan flags', '--help with a bad flag: help wins', [...SCAN, '--bogus', '--help'], 0, []),
];

// prettier-ignore
const AGENT_ROWS: BadInput[] = [
  row('agent flags', 'no node name', ['agent'], 2, usage(['--node-name: required (or set NODE_NAME, e.g. from the downward API)'])),
  row('agent flags', 'an unknown flag', [...AGENT, '--bogus'], 2, usage(['unknown flag "--bogus"'])),
  row('agent flags', 'a misspelt flag', [...AGENT, '--resynch', '5s'], 2, usage(['unknown flag "--resynch" (did you mean --resync?)', 'agent takes no arguments (got "5s")'])),
  row('agent flags', 'a positional argument', [...AGENT, 'now'], 2, usage(['agent takes no arguments (got "now")'])),
  row('agent flags', '--node-name empty', ['agent', '--node-name', ''], 2, usage([`--node-name: "" ${SUBDOMAIN}`])),
  row('agent flags', '--node-name with an underscore', ['agent', '--node-name', 'node_1'], 2, usage([`--node-name: "node_1" ${SUBDOMAIN}`])),
  row('agent flags', '--node-name ending with a dot', ['agent', '--node-name', 'node-1.'], 2, usage([`--node-name: "node-1." ${SUBDOMAIN}`])),
  row('agent flags', '--node-name without a value', ['agent', '--node-name'], 2, usage(['--node-name: missing value', '--node-name: required (or set NODE_NAME, e.g. from the downward API)'])),
  ...durations('agent flags', AGENT, 'resync'),
  row('agent flags', '--resync shorter than a second (a busy loop)', [...AGENT, '--resync', '500ms'], 2, usage(['--resync: "500ms" is less than 1000ms'])),
  ...durations('agent flags', AGENT, 'api-timeout'),
  row('agent flags', '--network-max-age zero', [...AGENT, '--network-max-age', '0m'], 2, usage([`--network-max-age: ${DURATION('0m')}`])),
  row('agent flags', '--network-max-age past a timer', [...AGENT, '--network-max-age', '1000h'], 2, usage([`--network-max-age: ${TOO_LONG('1000h')}`])),
  row('agent flags', '--network-max-age without a unit', [...AGENT, '--network-max-age', '120'], 2, usage([`--network-max-age: ${NO_UNIT('120')}`])),
  row('agent flags', '--cri-timeout past a timer', [...AGENT, '--cri-timeout', '900h'], 2, usage([`--cri-timeout: ${TOO_LONG('900h')}`])),
  row('agent flags', '--qps empty', [...AGENT, '--qps', ''], 2, usage(['--qps: "" is not a number from 0.001 to 10000'])),
  row('agent flags', '--qps negative', [...AGENT, '--qps=-1'], 2, usage(['--qps: "-1" is not a number from 0.001 to 10000'])),
  row('agent flags', '--qps negative, as the next argument', [...AGENT, '--qps', '-1'], 2, usage(['--qps: "-1" is not a number from 0.001 to 10000'])),
  row('agent flags', '--qps zero', [...AGENT, '--qps', '0'], 2, usage(['--qps: "0" is not a number from 0.001 to 10000'])),
  row('agent flags', '--qps so small a token wait overflows a timer', [...AGENT, '--qps', '0.0000001'], 2, usage(['--qps: "0.0000001" is not a number from 0.001 to 10000'])),
  row('agent flags', '--qps too high', [...AGENT, '--qps', '100000'], 2, usage(['--qps: "100000" is not a number from 0.001 to 10000'])),
  row('agent flags', '--qps past a double (Infinity)', [...AGENT, '--qps', '9'.repeat(400)], 2, usage([`--qps: "${'9'.repeat(79)}…" is not a number from 0.001 to 10000`])),
  row('agent flags', '--qps in exponent form', [...AGENT, '--qps', '1e3'], 2, usage(['--qps: "1e3" is not a number from 0.001 to 10000'])),
  row('agent flags', '--burst fractional', [...AGENT, '--burst', '2.5'], 2, usage(['--burst: "2.5" is not an integer from 1 to 10000'])),
  row('agent flags', '--burst zero', [...AGENT, '--burst', '0'], 2, usage(['--burst: "0" is not an integer from 1 to 10000'])),
  row('agent flags', '--burst past 2^53', [...AGENT, '--burst', '99999999999999999999'], 2, usage(['--burst: "99999999999999999999" is not an integer from 1 to 10000'])),
  row('agent flags', '--burst malformed', [...AGENT, '--burst', 'lots'], 2, usage(['--burst: "lots" is not an integer from 1 to 10000'])),
  row('agent flags', '--metrics-addr empty', [...AGENT, '--metrics-addr', ''], 2, usage([LISTEN('')])),
  row('agent flags', '--metrics-addr without a port', [...AGENT, '--metrics-addr', 'localhost'], 2, usage([LISTEN('localhost')])),
  row('agent flags', '--metrics-addr a bare port', [...AGENT, '--metrics-addr', '9090'], 2, usage([LISTEN('9090')])),
  row('agent flags', '--metrics-addr port zero (a random port nobody scrapes)', [...AGENT, '--metrics-addr', ':0'], 2, usage([LISTEN(':0')])),
  row('agent flags', '--metrics-addr port past 65535', [...AGENT, '--metrics-addr', ':65536'], 2, usage([LISTEN(':65536')])),
  row('agent flags', '--metrics-addr port negative', [...AGENT, '--metrics-addr=:-1'], 2, usage([LISTEN(':-1')])),
  row('agent flags', '--metrics-addr IPv6 without brackets', [...AGENT, '--metrics-addr', '::1:9090'], 2, usage([LISTEN('::1:9090')])),
  row('agent flags', '--metrics-addr IPv6 unclosed', [...AGENT, '--metrics-addr', '[::1:9090'], 2, usage([LISTEN('[::1:9090')])),
  row('agent flags', '--metrics-addr a host with a space', [...AGENT, '--metrics-addr', 'my host:9090'], 2, usage([LISTEN('my host:9090')])),
  row('agent flags', '--log-level unknown', [...AGENT, '--log-level', 'loud'], 2, usage(['--log-level: "loud" is not one of debug, info, warn, error'])),
  row('agent flags', '--log-level empty', [...AGENT, '--log-level', ''], 2, usage(['--log-level: "" is not one of debug, info, warn, error'])),
  row('agent flags', '--log-level of another logger (trace)', [...AGENT, '--log-level', 'trace'], 2, usage(['--log-level: "trace" is not one of debug, info, warn, error'])),
  row('agent flags', '--openreports with a value', [...AGENT, '--openreports=yes'], 2, usage(['--openreports: "yes" is not true or false'])),
  row('agent flags', '--kubeconfig empty', [...AGENT, '--kubeconfig', ''], 2, usage(['--kubeconfig: must not be empty'])),
  row('agent flags', '--host-pid zero', [...AGENT, '--host-pid', '0'], 2, usage([`--host-pid: ${PID('0')}`])),
  row('agent flags', '--cri-endpoint over TCP', [...AGENT, '--cri-endpoint', 'tcp://127.0.0.1:1'], 2, usage(['--cri-endpoint: "tcp://127.0.0.1:1": CRI runtimes listen on a unix socket (a path or unix:///path), not tcp://'])),
  row('agent flags', '--proc-root relative', [...AGENT, '--proc-root', 'host/proc'], 2, usage(['--proc-root: "host/proc" is not an absolute path'])),
  row('agent flags', '--proc-root that is not procfs', [...AGENT, '--proc-root', '$FIXTURES/no-such-dir', '--cri-endpoint', '$FIXTURES/cri-ok.sock'], 2, ['nsreport: --proc-root: $FIXTURES/no-such-dir is not a procfs mount (no self/ns in it)']),
  row('agent flags', 'no kubeconfig and not in a pod', [...AGENT, '--cri-endpoint', '$FIXTURES/cri-ok.sock'], 2, ['nsreport: no Kubernetes credentials (not in a pod: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are unset): pass --kubeconfig, or run in a pod with a service account']),
  row('agent flags', '--metrics-addr on a port in use', [...AGENT, '--cri-endpoint', '$FIXTURES/cri-ok.sock', '--kubeconfig', '$FIXTURES/api-ok.kubeconfig', '--metrics-addr', '127.0.0.1:$BUSY_PORT'], 1, ['nsreport: --metrics-addr: cannot listen (listen EADDRINUSE: address already in use 127.0.0.1:$BUSY_PORT)']),
  row('agent flags', '--accept not JSON is logged, never a reason to stop', [...AGENT, '--accept', '{', '--resync', 'x'], 2, usage([`--resync: ${DURATION('x')}`])),
];

// prettier-ignore
const AUDIT_ROWS: BadInput[] = [
  row('audit flags', 'an unknown flag', [...AUDIT, '--bogus'], 2, usage(['unknown flag "--bogus"'])),
  row('audit flags', 'a kubectl flag nsreport does not have', [...AUDIT, '--all'], 2, usage(['unknown flag "--all"'])),
  row('audit flags', 'a positional argument', [...AUDIT, 'shop'], 2, usage(['audit takes no arguments (got "shop")'])),
  row('audit flags', '--namespace with a space and a bang', [...AUDIT, '-n', 'Bad NS!'], 2, usage([`--namespace: "Bad NS!" ${LABEL_NAME}`])),
  row('audit flags', '--namespace empty', [...AUDIT, '-n', ''], 2, usage([`--namespace: "" ${LABEL_NAME}`])),
  row('audit flags', '--namespace longer than 63', [...AUDIT, '-n', 'a'.repeat(64)], 2, usage([`--namespace: "${'a'.repeat(64)}" ${LABEL_NAME}`])),
  row('audit flags', '--namespace with a dot (a subdomain, not a label)', [...AUDIT, '-n', 'kube.system'], 2, usage([`--namespace: "kube.system" ${LABEL_NAME}`])),
  row('audit flags', '--namespace starting with a dash', [...AUDIT, '--namespace=-shop'], 2, usage([`--namespace: "-shop" ${LABEL_NAME}`])),
  row('audit flags', '--namespace without a value', [...AUDIT, '-n'], 2, usage(['--namespace: missing value'])),
  row('audit flags', '-A and -n', [...AUDIT, '-A', '-n', 'shop'], 2, usage(['-A and -n: choose one'])),
  row('audit flags', '--all-namespaces with a value', [...AUDIT, '--all-namespaces=no'], 2, usage(['--all-namespaces: "no" is not true or false'])),
  row('audit flags', '--node in capitals', [...AUDIT, '--node', 'Node-1'], 2, usage([`--node: "Node-1" ${SUBDOMAIN}`])),
  row('audit flags', '--node empty', [...AUDIT, '--node', ''], 2, usage([`--node: "" ${SUBDOMAIN}`])),
  row('audit flags', '--node with a slash', [...AUDIT, '--node', 'pool/node-1'], 2, usage([`--node: "pool/node-1" ${SUBDOMAIN}`])),
  row('audit flags', '--context empty', [...AUDIT, '--context', ''], 2, usage(['--context: must not be empty'])),
  row('audit flags', '--kubeconfig empty', [...AUDIT, '--kubeconfig', ''], 2, usage(['--kubeconfig: must not be empty'])),
  row('audit flags', '--min-severity none (not a threshold)', [...AUDIT, '--min-severity', 'none'], 2, usage([`--min-severity: "none" is not one of ${THRESHOLDS}`])),
  row('audit flags', '--min-severity unknown', [...AUDIT, '--min-severity', 'severe'], 2, usage([`--min-severity: "severe" is not one of ${THRESHOLDS}`])),
  row('audit flags', '--fail-on in capitals', [...AUDIT, '--fail-on', 'HIGH'], 2, usage([`--fail-on: "HIGH" is not one of ${THRESHOLDS}`])),
  row('audit flags', '--fail-on empty', [...AUDIT, '--fail-on', ''], 2, usage([`--fail-on: "" is not one of ${THRESHOLDS}`])),
  row('audit flags', '--fail-on a number', [...AUDIT, '--fail-on', '3'], 2, usage([`--fail-on: "3" is not one of ${THRESHOLDS}`])),
  row('audit flags', '--output yaml (scan has it, the audit not)', [...AUDIT, '-o', 'yaml'], 2, usage([`--output: "yaml" is not one of ${AUDIT_OUTPUT}`])),
  row('audit flags', '--output empty', [...AUDIT, '-o='], 2, usage([`--output: "" is not one of ${AUDIT_OUTPUT}`])),
  row('audit flags', '--finding not an id', [...AUDIT, '--finding', 'hostnetwork'], 2, usage(['--finding: "HOSTNETWORK" is not a finding id (NSR001 to NSR016)'])),
  row('audit flags', '--finding an id not yet given', [...AUDIT, '--finding', 'NSR999'], 2, usage(['--finding: "NSR999" is not a finding id (NSR001 to NSR016)'])),
  row('audit flags', '--finding one good, two bad', [...AUDIT, '--finding', 'NSR001,NSR0,x'], 2, usage(['--finding: "NSR0" is not a finding id (NSR001 to NSR016)', '--finding: "X" is not a finding id (NSR001 to NSR016)'])),
  row('audit flags', '--page-size zero', [...AUDIT, '--page-size', '0'], 2, usage(['--page-size: "0" is not an integer from 1 to 10000'])),
  row('audit flags', '--page-size negative', [...AUDIT, '--page-size=-500'], 2, usage(['--page-size: "-500" is not an integer from 1 to 10000'])),
  row('audit flags', '--page-size past 10000', [...AUDIT, '--page-size', '1000000'], 2, usage(['--page-size: "1000000" is not an integer from 1 to 10000'])),
  row('audit flags', '--page-size past int64', [...AUDIT, '--page-size', '99999999999999999999'], 2, usage(['--page-size: "99999999999999999999" is not an integer from 1 to 10000'])),
  row('audit flags', '--page-size fractional', [...AUDIT, '--page-size', '2.5'], 2, usage(['--page-size: "2.5" is not an integer from 1 to 10000'])),
  ...durations('audit flags', AUDIT, 'request-timeout'),
  row('audit flags', '--host-network with a value', [...AUDIT, '--host-network=1'], 2, usage(['--host-network: "1" is not true or false'])),
  row('audit flags', '--include-accepted with a value', [...AUDIT, '--include-accepted=yes'], 2, usage(['--include-accepted: "yes" is not true or false'])),
];

// prettier-ignore
const VERSION_ROWS: BadInput[] = [
  row('Commands and help', 'completion without a shell', ['completion'], 2, usage(['completion: which shell? (bash, zsh, fish; got "")'])),
  row('Commands and help', 'completion for a shell it has no script for', ['completion', 'powershell'], 2, usage(['completion: which shell? (bash, zsh, fish; got "powershell")'])),
  row('Commands and help', '__complete of a command line that makes no sense', ['__complete', 'audit', '--page-size', 'x', '-o', ''], 0, [], { stdout: 'table' }),
  row('describe arguments', 'no pod', [...DESCRIBE], 2, usage(['describe: which pod? (NAMESPACE/POD, or pod/POD with -n NAMESPACE)'])),
  row('describe arguments', 'a path of three parts', [...DESCRIBE, 'a/b/c'], 2, usage(['describe: expected NAMESPACE/POD, got "a/b/c"'])),
  row('describe arguments', 'two pods', [...DESCRIBE, 'shop/a', 'shop/b'], 2, usage(['describe takes one pod (got "shop/a shop/b")'])),
  row('describe arguments', 'NAMESPACE/POD and another -n', [...DESCRIBE, 'shop/web', '-n', 'prod'], 2, usage(['describe: "shop/web" and -n prod: choose one namespace'])),
  row('describe arguments', 'pod/ without a name', [...DESCRIBE, 'pod/'], 2, usage(['describe: "pod/": "" is not a pod name'])),
  row('describe arguments', 'a pod name in capitals', [...DESCRIBE, 'Web'], 2, usage(['describe: "Web" is not a pod name'])),
  row('describe arguments', 'a report of that name', [...DESCRIBE, 'shop/web', '--kubeconfig', '$FIXTURES/api-ok.kubeconfig'], 0, [], { stdout: 'Source:         the NamespaceReport on $API/ok; it agrees with its Pod' }),
  row('describe arguments', 'no report of that name', [...DESCRIBE, 'pod/nope', '-n', 'shop', '--kubeconfig', '$FIXTURES/api-ok.kubeconfig'], 1, ['nsreport: no NamespaceReport shop/nope on $API/ok (no such pod, or no agent on its node: nsreport audit shows which)']),
  row('describe arguments', 'a report without a body', [...DESCRIBE, 'shop/web', '--kubeconfig', '$FIXTURES/api-no-body.kubeconfig'], 1, ['nsreport: the NamespaceReport shop/web cannot be told about: no report body: it says nothing about its pod']),
  row('describe arguments', 'its Pod not readable', [...DESCRIBE, 'shop/web', '--kubeconfig', '$FIXTURES/api-pods-forbidden.kubeconfig'], 0, [], { stdout: 'Source:         the NamespaceReport on $API/pods-forbidden; its Pod could not be read: not checked against it' }),
  row('describe arguments', 'the API server refuses the credentials', [...DESCRIBE, 'shop/web', '--kubeconfig', '$FIXTURES/api-401.kubeconfig'], 1, ['nsreport: $API/401: Kubernetes API: unauthorized (HTTP 401): Unauthorized']),
  row('describe arguments', 'nothing listens at the server', [...DESCRIBE, 'shop/web', '--kubeconfig', '$FIXTURES/api-down.kubeconfig'], 1, ['nsreport: http://127.0.0.1:1: Kubernetes API: unreachable: connect ECONNREFUSED 127.0.0.1:1']),
  row('describe arguments', '--local: the pod on the runtime', [...DESCRIBE, 'shop/web', '--local', '--cri-endpoint', '$FIXTURES/cri-ok.sock', '--proc-root', '$FIXTURES/proc'], 0, ['nsreport: warning: sandbox "sb-empty": pod name "" is not a Kubernetes object name (DNS-1123 subdomain): no report'], { stdout: '  Host PID:       200' }),
  row('describe arguments', '--local: a pod the runtime does not have', [...DESCRIBE, 'shop/nope', '--local', '--cri-endpoint', '$FIXTURES/cri-ok.sock', '--proc-root', '$FIXTURES/proc'], 1, ['nsreport: warning: sandbox "sb-empty": pod name "" is not a Kubernetes object name (DNS-1123 subdomain): no report', "nsreport: pod shop/nope is not on this machine's runtime"]),
  row('describe arguments', '--local: a runtime that answers nothing CRI', [...DESCRIBE, 'shop/web', '--local', '--cri-endpoint', '$FIXTURES/cri-unimplemented.sock', '--proc-root', '$FIXTURES/proc'], 1, ['nsreport: …']),
  row('version flags', 'a positional argument', [...VERSION, 'extra'], 2, usage(['version takes no arguments (got "extra")'])),
  row('version flags', 'an unknown flag', [...VERSION, '--short'], 2, usage(['unknown flag "--short"'])),
  row('version flags', '--client with a value', [...VERSION, '--client=maybe'], 2, usage(['--client: "maybe" is not true or false'])),
  row('version flags', '--client=false is a value', [...VERSION, '--client=false', '--kubeconfig', '$FIXTURES/missing.kubeconfig'], 0, ['nsreport: agents: not checked (kubeconfig $FIXTURES/missing.kubeconfig: no such file)'], { stdout: 'nsreport …' }),
  row('version flags', '--context empty', [...VERSION, '--context', ''], 2, usage(['--context: must not be empty'])),
  row('version flags', '--kubeconfig empty', [...VERSION, '--kubeconfig', ''], 2, usage(['--kubeconfig: must not be empty'])),
  row('version flags', '--request-timeout past a timer', [...VERSION, '--request-timeout', '700h'], 2, usage([`--request-timeout: ${TOO_LONG('700h')}`])),
  row('version flags', '--request-timeout without a unit', [...VERSION, '--request-timeout', '5'], 2, usage([`--request-timeout: ${NO_UNIT('5')}`])),
  row('version flags', '--request-timeout zero', [...VERSION, '--request-timeout', '0s'], 2, usage([`--request-timeout: ${DURATION('0s')}`])),
];

// prettier-ignore
const NETNS_ROWS: BadInput[] = [
  row('netns arguments', 'no verb', ['netns'], 2, usage(['netns: expected "link" or "unlink", got ""', 'netns : expected NAMESPACE/POD, got ""'])),
  row('netns arguments', 'an unknown verb', ['netns', 'attach', 'shop/web'], 2, usage(['netns: expected "link" or "unlink", got "attach"'])),
  row('netns arguments', 'link without a pod', ['netns', 'link'], 2, usage(['netns link: expected NAMESPACE/POD, got ""'])),
  row('netns arguments', 'a pod without a namespace', ['netns', 'link', 'web'], 2, usage(['netns link: expected NAMESPACE/POD, got "web"'])),
  row('netns arguments', 'a pod in capitals', ['netns', 'unlink', 'Shop/Web'], 2, usage(['netns unlink: expected NAMESPACE/POD, got "Shop/Web"'])),
  row('netns arguments', 'a third argument', ['netns', 'link', 'shop/web', 'now'], 2, usage(['netns: unexpected arguments "now"'])),
];

// prettier-ignore
const ENV_ROWS: BadInput[] = [
  row('The environment', 'NSREPORT_OUTPUT unknown', SCAN, 2, usage([`NSREPORT_OUTPUT: "xml" is not one of ${SCAN_OUTPUT}`]), { env: { NSREPORT_OUTPUT: 'xml' } }),
  row('The environment', 'NSREPORT_OUTPUT empty: unset, the default', [...SCAN, '--host-pid', '0'], 2, usage([`--host-pid: ${PID('0')}`]), { env: { NSREPORT_OUTPUT: '' } }),
  row('The environment', 'a flag beats its variable', [...SCAN, '-o', 'bogus'], 2, usage([`--output: "bogus" is not one of ${SCAN_OUTPUT}`]), { env: { NSREPORT_OUTPUT: 'xml' } }),
  row('The environment', 'NSREPORT_HOST_PID zero', SCAN, 2, usage([`NSREPORT_HOST_PID: ${PID('0')}`]), { env: { NSREPORT_HOST_PID: '0' } }),
  row('The environment', 'NSREPORT_HOST_PID past PID_MAX_LIMIT', SCAN, 2, usage([`NSREPORT_HOST_PID: ${PID('5000000')}`]), { env: { NSREPORT_HOST_PID: '5000000' } }),
  row('The environment', 'NSREPORT_CRI_TIMEOUT past a timer', SCAN, 2, usage([`NSREPORT_CRI_TIMEOUT: ${TOO_LONG('600h')}`]), { env: { NSREPORT_CRI_TIMEOUT: '600h' } }),
  row('The environment', 'NSREPORT_CRI_ENDPOINT over TCP', SCAN, 2, usage(['NSREPORT_CRI_ENDPOINT: "tcp://x:1": CRI runtimes listen on a unix socket (a path or unix:///path), not tcp://']), { env: { NSREPORT_CRI_ENDPOINT: 'tcp://x:1' } }),
  row('The environment', 'NSREPORT_PROC_ROOT relative', SCAN, 2, usage(['NSREPORT_PROC_ROOT: "proc" is not an absolute path']), { env: { NSREPORT_PROC_ROOT: 'proc' } }),
  row('The environment', 'NSREPORT_POD malformed', SCAN, 2, usage(['NSREPORT_POD: "web" is not NAMESPACE/NAME (a namespace and a pod name)']), { env: { NSREPORT_POD: 'web' } }),
  row('The environment', 'NODE_NAME not a name (scan)', SCAN, 2, usage([`NODE_NAME: "Node 1" ${SUBDOMAIN}`]), { env: { NODE_NAME: 'Node 1' } }),
  row('The environment', 'NODE_NAME not a name (agent)', ['agent'], 2, usage([`NODE_NAME: "node_1" ${SUBDOMAIN}`]), { env: { NODE_NAME: 'node_1' } }),
  row('The environment', 'NODE_NAME empty: no node name', ['agent'], 2, usage(['--node-name: required (or set NODE_NAME, e.g. from the downward API)']), { env: { NODE_NAME: '' } }),
  row('The environment', 'NSREPORT_NODE_NAME beats NODE_NAME', ['agent'], 2, usage([`NSREPORT_NODE_NAME: "A" ${SUBDOMAIN}`]), { env: { NSREPORT_NODE_NAME: 'A', NODE_NAME: 'n1' } }),
  row('The environment', 'NSREPORT_RESYNC without a unit', ['agent'], 2, usage([`NSREPORT_RESYNC: ${NO_UNIT('30')}`]), { env: { NODE_NAME: 'n1', NSREPORT_RESYNC: '30' } }),
  row('The environment', 'NSREPORT_RESYNC past a timer', ['agent'], 2, usage([`NSREPORT_RESYNC: ${TOO_LONG('600h')}`]), { env: { NODE_NAME: 'n1', NSREPORT_RESYNC: '600h' } }),
  row('The environment', 'NSREPORT_NETWORK_MAX_AGE negative', ['agent'], 2, usage([`NSREPORT_NETWORK_MAX_AGE: ${DURATION('-2m')}`]), { env: { NODE_NAME: 'n1', NSREPORT_NETWORK_MAX_AGE: '-2m' } }),
  row('The environment', 'NSREPORT_API_TIMEOUT in days', ['agent'], 2, usage([`NSREPORT_API_TIMEOUT: ${UNIT('1d', 'd')}`]), { env: { NODE_NAME: 'n1', NSREPORT_API_TIMEOUT: '1d' } }),
  row('The environment', 'NSREPORT_QPS zero', ['agent'], 2, usage(['NSREPORT_QPS: "0" is not a number from 0.001 to 10000']), { env: { NODE_NAME: 'n1', NSREPORT_QPS: '0' } }),
  row('The environment', 'NSREPORT_BURST malformed', ['agent'], 2, usage(['NSREPORT_BURST: "ten" is not an integer from 1 to 10000']), { env: { NODE_NAME: 'n1', NSREPORT_BURST: 'ten' } }),
  row('The environment', 'NSREPORT_METRICS_ADDR malformed', ['agent'], 2, usage([LISTEN('nope').replace('--metrics-addr', 'NSREPORT_METRICS_ADDR')]), { env: { NODE_NAME: 'n1', NSREPORT_METRICS_ADDR: 'nope' } }),
  row('The environment', 'NSREPORT_LOG_LEVEL unknown', ['agent'], 2, usage(['NSREPORT_LOG_LEVEL: "verbose" is not one of debug, info, warn, error']), { env: { NODE_NAME: 'n1', NSREPORT_LOG_LEVEL: 'verbose' } }),
  row('The environment', 'NSREPORT_OPENREPORTS neither true nor false', ['agent'], 2, usage(['NSREPORT_OPENREPORTS: "1" is not true or false']), { env: { NODE_NAME: 'n1', NSREPORT_OPENREPORTS: '1' } }),
  row('The environment', 'NSREPORT_KUBECONFIG missing (agent)', ['agent', '--cri-endpoint', '$FIXTURES/cri-ok.sock'], 2, ['nsreport: no Kubernetes credentials (kubeconfig $FIXTURES/missing.kubeconfig: no such file)'], { env: { NODE_NAME: 'n1', NSREPORT_KUBECONFIG: '$FIXTURES/missing.kubeconfig' } }),
  row('The environment', 'NSREPORT_NAMESPACE not a namespace', AUDIT, 2, usage([`NSREPORT_NAMESPACE: "Shop" ${LABEL_NAME}`]), { env: { NSREPORT_NAMESPACE: 'Shop' } }),
  row('The environment', 'NSREPORT_NODE not a node name', AUDIT, 2, usage([`NSREPORT_NODE: "node 1" ${SUBDOMAIN}`]), { env: { NSREPORT_NODE: 'node 1' } }),
  row('The environment', 'NSREPORT_MIN_SEVERITY none', AUDIT, 2, usage([`NSREPORT_MIN_SEVERITY: "none" is not one of ${THRESHOLDS}`]), { env: { NSREPORT_MIN_SEVERITY: 'none' } }),
  row('The environment', 'NSREPORT_FINDING not an id', AUDIT, 2, usage(['NSREPORT_FINDING: "NSR999" is not a finding id (NSR001 to NSR016)']), { env: { NSREPORT_FINDING: 'NSR999' } }),
  row('The environment', 'NSREPORT_FAIL_ON unknown', AUDIT, 2, usage([`NSREPORT_FAIL_ON: "never" is not one of ${THRESHOLDS}`]), { env: { NSREPORT_FAIL_ON: 'never' } }),
  row('The environment', 'NSREPORT_PAGE_SIZE zero', AUDIT, 2, usage(['NSREPORT_PAGE_SIZE: "0" is not an integer from 1 to 10000']), { env: { NSREPORT_PAGE_SIZE: '0' } }),
  row('The environment', 'NSREPORT_REQUEST_TIMEOUT negative', AUDIT, 2, usage([`NSREPORT_REQUEST_TIMEOUT: ${DURATION('-1s')}`]), { env: { NSREPORT_REQUEST_TIMEOUT: '-1s' } }),
  row('The environment', 'NSREPORT_CONTEXT unknown', AUDIT, 2, ['nsreport: kubeconfig $FIXTURES/api-ok.kubeconfig: context "nope" is not in the kubeconfig'], { env: { NSREPORT_CONTEXT: 'nope', KUBECONFIG: '$FIXTURES/api-ok.kubeconfig' } }),
  row('The environment', 'KUBECONFIG missing', AUDIT, 2, ['nsreport: kubeconfig $FIXTURES/missing.kubeconfig: no such file'], { env: { KUBECONFIG: '$FIXTURES/missing.kubeconfig' } }),
  row('The environment', 'KUBECONFIG a list with a missing file', AUDIT, 2, ['nsreport: kubeconfig $FIXTURES/api-ok.kubeconfig:$FIXTURES/missing.kubeconfig: file $FIXTURES/missing.kubeconfig: no such file'], { env: { KUBECONFIG: '$FIXTURES/api-ok.kubeconfig:$FIXTURES/missing.kubeconfig' } }),
  row('The environment', 'KUBECONFIG empty and no ~/.kube/config', AUDIT, 2, ['nsreport: no kubeconfig: set KUBECONFIG or pass --kubeconfig'], { env: { KUBECONFIG: '' } }),
  row('The environment', 'an NSREPORT_ variable of another command is no problem', [...SCAN, '--host-pid', '0'], 2, usage([`--host-pid: ${PID('0')}`]), { env: { NSREPORT_RESYNC: 'soon' } }),
];

// prettier-ignore
const COMBO_ROWS: BadInput[] = [
  row('Several problems at once', 'scan: four bad values', [...SCAN, '-o', 'xml', '--host-pid', 'abc', '--pod', 'nope', '--cri-timeout', 'soon'], 2, usage([`--output: "xml" is not one of ${SCAN_OUTPUT}`, '--pod: "nope" is not NAMESPACE/NAME (a namespace and a pod name)', `--cri-timeout: ${DURATION('soon')}`, `--host-pid: ${PID('abc')}`])),
  row('Several problems at once', 'scan: unknown flags, a missing value, a positional and a bad value', [...SCAN, '--frob', 'x', '--bogus', '--host-pid', '0', '-o'], 2, usage(['unknown flag "--frob"', 'unknown flag "--bogus"', '--output: missing value', 'scan takes no arguments (got "x")', `--host-pid: ${PID('0')}`])),
  row('Several problems at once', 'agent: every flag wrong', ['agent', '--resync', 'often', '--qps=-1', '--burst', '2.5', '--metrics-addr', 'nope', '--log-level', 'loud', '--api-timeout', '900h', '--network-max-age', '0s'], 2, usage(['--node-name: required (or set NODE_NAME, e.g. from the downward API)', LISTEN('nope'), '--log-level: "loud" is not one of debug, info, warn, error', `--resync: ${DURATION('often')}`, `--network-max-age: ${DURATION('0s')}`, '--qps: "-1" is not a number from 0.001 to 10000', '--burst: "2.5" is not an integer from 1 to 10000', `--api-timeout: ${TOO_LONG('900h')}`])),
  row('Several problems at once', 'audit: every flag wrong', [...AUDIT, '-n', 'Bad', '--node', 'X', '--min-severity', 'none', '--finding', 'NSR999', '-o', 'yaml', '--fail-on', 'never', '--page-size', '0', '--request-timeout', '-1s', '--context', ''], 2, usage([`--namespace: "Bad" ${LABEL_NAME}`, '--context: must not be empty', `--node: "X" ${SUBDOMAIN}`, `--output: "yaml" is not one of ${AUDIT_OUTPUT}`, `--min-severity: "none" is not one of ${THRESHOLDS}`, '--finding: "NSR999" is not a finding id (NSR001 to NSR016)', `--fail-on: "never" is not one of ${THRESHOLDS}`, '--page-size: "0" is not an integer from 1 to 10000', `--request-timeout: ${DURATION('-1s')}`])),
  row('Several problems at once', 'flags and variables wrong together', [...SCAN, '--pod', 'x'], 2, usage([`NSREPORT_OUTPUT: "xml" is not one of ${SCAN_OUTPUT}`, '--pod: "x" is not NAMESPACE/NAME (a namespace and a pod name)', `NSREPORT_HOST_PID: ${PID('-3')}`]), { env: { NSREPORT_OUTPUT: 'xml', NSREPORT_HOST_PID: '-3' } }),
  row('Several problems at once', 'version: a value, a flag and an argument', [...VERSION, '--request-timeout', '5', '--bogus', 'now'], 2, usage(['unknown flag "--bogus"', 'version takes no arguments (got "now")', `--request-timeout: ${NO_UNIT('5')}`])),
];

// prettier-ignore
const PIPE_ROWS: BadInput[] = [
  row('A reader that stops reading', 'help', ['help'], 0, [], { closeStdout: true }),
  row('A reader that stops reading', 'version --client', ['version', '--client'], 0, [], { closeStdout: true }),
  row('A reader that stops reading', 'scan -o json', [...SCAN, '-o', 'json', '--cri-endpoint', '$FIXTURES/cri-ok.sock', '--proc-root', '$FIXTURES/proc'], 0, ['nsreport: warning: sandbox "sb-empty": pod name "" is not a Kubernetes object name (DNS-1123 subdomain): no report'], { closeStdout: true }),
  row('A reader that stops reading', 'scan -o yaml', [...SCAN, '-o', 'yaml', '--cri-endpoint', '$FIXTURES/cri-ok.sock', '--proc-root', '$FIXTURES/proc'], 0, ['nsreport: warning: sandbox "sb-empty": pod name "" is not a Kubernetes object name (DNS-1123 subdomain): no report'], { closeStdout: true }),
  row('A reader that stops reading', 'audit -o csv', [...AUDIT, '-o', 'csv', '--kubeconfig', '$FIXTURES/api-ok.kubeconfig'], 0, [], { closeStdout: true }),
  row('A reader that stops reading', 'audit -o json', [...AUDIT, '-o', 'json', '--kubeconfig', '$FIXTURES/api-ok.kubeconfig'], 0, [], { closeStdout: true }),
  row('A reader that stops reading', 'audit --fail-on critical: the gate still holds', [...AUDIT, '--fail-on', 'critical', '--kubeconfig', '$FIXTURES/api-no-body.kubeconfig'], 3, [], { closeStdout: true }),
  row('A reader that stops reading', 'version (the cluster part still asked)', [...VERSION, '--kubeconfig', '$FIXTURES/api-ok.kubeconfig'], 0, [], { closeStdout: true }),
];

const kubeconfig = (what: string, file: string, message: string, exit = 2): BadInput =>
  row(
    'Kubeconfig',
    what,
    [...AUDIT, '--kubeconfig', `$FIXTURES/${file}`, '--request-timeout', '1s'],
    exit,
    [`nsreport: kubeconfig $FIXTURES/${file}: ${message}`],
  );

// prettier-ignore
const KUBECONFIG_ROWS: BadInput[] = [
  kubeconfig('a missing file', 'missing.kubeconfig', 'no such file'),
  row('Kubeconfig', 'a directory', [...AUDIT, '--kubeconfig', '$FIXTURES/home'], 2, ['nsreport: kubeconfig $FIXTURES/home: is a directory']),
  kubeconfig('not YAML', 'not-yaml.kubeconfig', 'not YAML (…)'),
  kubeconfig('YAML that is not a mapping', 'scalar.kubeconfig', 'not a kubeconfig (not a YAML mapping)'),
  kubeconfig('no current context', 'no-context.kubeconfig', 'no current-context (pass --context)'),
  row('Kubeconfig', 'an unknown --context', [...AUDIT, '--kubeconfig', '$FIXTURES/api-ok.kubeconfig', '--context', 'nope'], 2, ['nsreport: kubeconfig $FIXTURES/api-ok.kubeconfig: context "nope" is not in the kubeconfig']),
  kubeconfig('a cluster without a server', 'no-server.kubeconfig', 'cluster "c1" has no server'),
  kubeconfig('a server that is not a URL', 'bad-url.kubeconfig', 'cluster "c1": server "not a url" is not a URL'),
  kubeconfig('a server without a scheme, read as one', 'no-scheme.kubeconfig', 'cluster "c1": server api.example:6443 is not https:// (or http://)'),
  kubeconfig('a server that is not https', 'ftp.kubeconfig', 'cluster "c1": server ftp://api.example/ is not https:// (or http://)'),
  kubeconfig('an unreadable CA file', 'missing-ca.kubeconfig', 'certificate-authority $FIXTURES/no-such-dir/ca.crt: no such file'),
  kubeconfig('CA data that is not a certificate', 'bad-ca.kubeconfig', 'certificate-authority: not a PEM certificate (…)'),
  kubeconfig('client certificate and key that are not PEM', 'bad-client-key.kubeconfig', 'client-certificate and client-key: not usable (…)'),
  kubeconfig('a missing token file', 'missing-token.kubeconfig', 'tokenFile $FIXTURES/no-such-dir/token: no such file'),
  kubeconfig('an exec plugin that fails', 'exec-fails.kubeconfig', 'the exec credential plugin "/bin/sh" failed: login required'),
  kubeconfig('an exec plugin that prints junk', 'exec-junk.kubeconfig', 'the exec credential plugin "/bin/sh" failed: its output is not an ExecCredential (JSON with a status)'),
  kubeconfig('an exec plugin that does not exist', 'exec-missing.kubeconfig', 'the exec credential plugin "$FIXTURES/no-such-dir/plugin" failed: spawn $FIXTURES/no-such-dir/plugin ENOENT'),
  kubeconfig('an exec plugin that hangs', 'exec-hangs.kubeconfig', 'the exec credential plugin "/bin/sh" did not answer within 1s'),
  row('Kubeconfig', 'version: a kubeconfig problem never fails the command', [...VERSION, '--kubeconfig', '$FIXTURES/not-yaml.kubeconfig'], 0, ['nsreport: agents: not checked (kubeconfig $FIXTURES/not-yaml.kubeconfig: not YAML (…))'], { stdout: 'nsreport …' }),
  row('Kubeconfig', 'version: an exec plugin that hangs', [...VERSION, '--kubeconfig', '$FIXTURES/exec-hangs.kubeconfig', '--request-timeout', '1s'], 0, ['nsreport: agents: not checked (kubeconfig $FIXTURES/exec-hangs.kubeconfig: the exec credential plugin "/bin/sh" did not answer within 1s)'], { stdout: 'nsreport …' }),
  row('Kubeconfig', 'agent: a kubeconfig that is not YAML', [...AGENT, '--cri-endpoint', '$FIXTURES/cri-ok.sock', '--kubeconfig', '$FIXTURES/not-yaml.kubeconfig'], 2, ['nsreport: no Kubernetes credentials (kubeconfig $FIXTURES/not-yaml.kubeconfig: not YAML (…))']),
  row('Kubeconfig', 'agent: an exec plugin that fails', [...AGENT, '--cri-endpoint', '$FIXTURES/cri-ok.sock', '--kubeconfig', '$FIXTURES/exec-fails.kubeconfig'], 2, ['nsreport: no Kubernetes credentials (kubeconfig $FIXTURES/exec-fails.kubeconfig: the exec credential plugin "/bin/sh" failed: login required)']),
  row('Kubeconfig', 'agent: an unreadable CA file', [...AGENT, '--cri-endpoint', '$FIXTURES/cri-ok.sock', '--kubeconfig', '$FIXTURES/missing-ca.kubeconfig'], 2, ['nsreport: no Kubernetes credentials (kubeconfig $FIXTURES/missing-ca.kubeconfig: certificate-authority $FIXTURES/no-such-dir/ca.crt: no such file)']),
];

const cri = (what: string, sock: string, message: string, more: readonly string[] = []): BadInput =>
  row(
    'Container runtime (CRI)',
    what,
    [
      ...SCAN,
      '--cri-endpoint',
      `$FIXTURES/${sock}`,
      '--proc-root',
      '$FIXTURES/proc',
      '--cri-timeout',
      '1s',
      ...more,
    ],
    1,
    [`nsreport: CRI … on $FIXTURES/${sock}: ${message}`],
  );

// prettier-ignore
const CRI_ROWS: BadInput[] = [
  cri('a path with nothing there', 'no-such-dir/cri.sock', 'no CRI socket at this path; pass --cri-endpoint (before connecting)'),
  cri('a regular file', 'file.sock', 'no CRI socket at this path; pass --cri-endpoint (not a socket: a file)'),
  row('Container runtime (CRI)', 'a directory', [...SCAN, '--cri-endpoint', '$FIXTURES/home', '--proc-root', '$FIXTURES/proc'], 1, ['nsreport: CRI … on $FIXTURES/home: no CRI socket at this path; pass --cri-endpoint (not a socket: a directory)']),
  cri('a socket nobody listens on', 'dead.sock', 'the container runtime is not answering on this socket (No connection established. Last error: connect ECONNREFUSED $FIXTURES/dead.sock.)'),
  cri('a socket that is not gRPC', 'not-grpc.sock', 'the container runtime is not answering on this socket (No connection established. Last error: Protocol error.)'),
  cri('a runtime without the CRI calls (UNIMPLEMENTED)', 'cri-unimplemented.sock', 'the container runtime does not implement this CRI call (The server does not implement the method …)'),
  cri('a runtime that refuses (PERMISSION_DENIED)', 'cri-denied.sock', 'permission denied on the CRI socket; run as root or grant access to it (not you)'),
  cri('a runtime answering garbage', 'cri-garbage.sock', 'the CRI call failed (Response message parsing error: …)'),
  cri('a runtime that never answers (deadline)', 'cri-silent.sock', 'the container runtime did not answer before the deadline (Deadline exceeded after …s)'),
  row('Container runtime (CRI)', 'unix:// form, nothing there', [...SCAN, '--cri-endpoint', 'unix://$FIXTURES/no-such-dir/cri.sock', '--proc-root', '$FIXTURES/proc'], 1, ['nsreport: CRI … on unix://$FIXTURES/no-such-dir/cri.sock: no CRI socket at this path; pass --cri-endpoint (before connecting)']),
  row('Container runtime (CRI)', 'a pod that is not on this node', [...SCAN, '--cri-endpoint', '$FIXTURES/cri-ok.sock', '--proc-root', '$FIXTURES/proc', '--pod', 'shop/gone'], 1, ['nsreport: warning: sandbox "sb-empty": pod name "" is not a Kubernetes object name (DNS-1123 subdomain): no report', 'nsreport: pod shop/gone not found on this node']),
  row('Container runtime (CRI)', 'a sandbox without a pod name: a warning, no report, the rest goes on', [...SCAN, '--cri-endpoint', '$FIXTURES/cri-ok.sock', '--proc-root', '$FIXTURES/proc', '-o', 'wide'], 0, ['nsreport: warning: sandbox "sb-empty": pod name "" is not a Kubernetes object name (DNS-1123 subdomain): no report'], { stdout: 'shop …web …app …200 …' }),
];

const api = (
  what: string,
  scenario: string,
  stderr: readonly string[],
  exit = 1,
  more: readonly string[] = [],
): BadInput =>
  row(
    'Kubernetes API',
    what,
    [
      ...AUDIT,
      '--kubeconfig',
      `$FIXTURES/api-${scenario}.kubeconfig`,
      '--request-timeout',
      '1s',
      ...more,
    ],
    exit,
    stderr,
  );

// prettier-ignore
const API_ROWS: BadInput[] = [
  api('401 Unauthorized', '401', ['nsreport: not allowed to list namespacereports on $API/401 (unauthorized): Kubernetes API: unauthorized (HTTP 401): Unauthorized']),
  api('403 Forbidden (RBAC)', '403', ['nsreport: not allowed to list namespacereports on $API/403 (forbidden): Kubernetes API: forbidden (HTTP 403): namespacereports.nsreport.dev is forbidden: User "alice" cannot list resource "namespacereports" in API group "nsreport.dev" at the cluster scope']),
  api('404: the CRD is not installed', 'no-crd', ['nsreport: the NamespaceReport CRD (namespacereports.nsreport.dev) is not installed on $API/no-crd: kubectl apply -f manifests/crd.yaml']),
  api('500 from the API server', '500', ['nsreport: the API server at $API/500 failed: Kubernetes API: server (HTTP 500): etcdserver: request timed out']),
  api('an HTML page with 200', 'garbage', ['nsreport: $API/garbage does not answer as a Kubernetes API server: Kubernetes API: malformed: the answer is not JSON: <html>\\n<body>…']),
  api('a list whose items are not a list', 'not-a-list', ['nsreport: $API/not-a-list does not answer as a Kubernetes API server: Kubernetes API: malformed: a list answer whose items are not a list of objects']),
  api('a response that never comes', 'hang', ['nsreport: cannot reach the API server at $API/hang: Kubernetes API: timeout: …']),
  api('a list that never ends (the same continue token)', 'endless', ['nsreport: $API/endless does not answer as a Kubernetes API server: Kubernetes API: malformed: a list whose continue token does not advance']),
  api('a report without a body: untrusted, counted', 'no-body', [], 0),
  row('Kubernetes API', 'a report without a body: shown as !body', [...AUDIT, '--kubeconfig', '$FIXTURES/api-no-body.kubeconfig'], 0, [], { stdout: '  shop/web: no report body: it says nothing about its pod (critical)' }),
  api('a report without a body reaches --fail-on critical', 'no-body', [], 3, ['--fail-on', 'critical']),
  row('Kubernetes API', 'a report without a body, -o csv', [...AUDIT, '--kubeconfig', '$FIXTURES/api-no-body.kubeconfig', '-o', 'csv'], 0, [], { stdout: 'node-1,shop,web,false,false,false,0,,,,!body,critical,body' }),
  api('pods not listable: coverage not checked, the rest goes on', 'pods-forbidden', [], 0),
  api('nothing listens at the server', 'down', ['nsreport: cannot reach the API server at http://127.0.0.1:1: Kubernetes API: unreachable: connect ECONNREFUSED 127.0.0.1:1']),
  row('Kubernetes API', 'version: a server that never answers', [...VERSION, '--kubeconfig', '$FIXTURES/api-hang.kubeconfig', '--request-timeout', '1s'], 0, ['nsreport: agents: not checked (Kubernetes API: timeout: …)'], { stdout: 'nsreport …' }),
  row('Kubernetes API', 'version: an HTML page with 200', [...VERSION, '--kubeconfig', '$FIXTURES/api-garbage.kubeconfig'], 0, ['nsreport: agents: not checked (Kubernetes API: malformed: the answer is not JSON: <html>\\n<body>…)'], { stdout: 'nsreport …' }),
  row('Kubernetes API', 'version: 403 on DaemonSets', [...VERSION, '--kubeconfig', '$FIXTURES/api-403.kubeconfig'], 0, ['nsreport: agents: not allowed to list DaemonSets'], { stdout: 'nsreport …' }),
];

const proc = (
  what: string,
  tree: string,
  exit: number,
  stderr: readonly string[],
  stdout?: string,
): BadInput =>
  row(
    'procfs',
    what,
    [
      ...SCAN,
      '--cri-endpoint',
      '$FIXTURES/cri-ok.sock',
      '--proc-root',
      `$FIXTURES/${tree}`,
      '-o',
      'wide',
    ],
    exit,
    stderr,
    stdout === undefined ? {} : { stdout },
  );

const EMPTY_POD =
  'nsreport: warning: sandbox "sb-empty": pod name "" is not a Kubernetes object name (DNS-1123 subdomain): no report';

// prettier-ignore
const PROC_ROWS: BadInput[] = [
  proc('a tree that does not exist', 'no-such-dir', 2, ['nsreport: --proc-root: $FIXTURES/no-such-dir is not a procfs mount (no self/ns in it)']),
  row('procfs', 'a directory that is not procfs', [...SCAN, '--proc-root', '$FIXTURES/home'], 2, ['nsreport: --proc-root: $FIXTURES/home is not a procfs mount (no self/ns in it)']),
  proc('no host reference (PID 1)', 'proc-no-host', 0, ['nsreport: warning: host reference PID 1 is unreadable (gone: …): host sharing is reported as unknown; pass --host-pid with a process in the host namespaces', EMPTY_POD], 'shop …web …app …200 …'),
  proc('garbage mountinfo, cut mid-line', 'proc-bad-mountinfo', 0, [EMPTY_POD], 'shop …web …app …200 …'),
  proc('namespace entries that are not links', 'proc-bad-ns', 0, [EMPTY_POD], 'shop …web …app …(error) …'),
  proc('garbage network files', 'proc-bad-net', 0, [EMPTY_POD], 'shop …web …app …200 …'),
  row('procfs', '--host-pid of a process that is not there', [...SCAN, '--cri-endpoint', '$FIXTURES/cri-ok.sock', '--proc-root', '$FIXTURES/proc', '--host-pid', '4194304'], 0, ['nsreport: warning: host reference PID 4194304 is unreadable (gone: …): host sharing is reported as unknown; pass --host-pid with a process in the host namespaces', EMPTY_POD]),
];

/** Every row, in the page's order. */
export const BAD_INPUTS: readonly BadInput[] = [
  ...COMMAND_ROWS,
  ...SCAN_ROWS,
  ...AGENT_ROWS,
  ...AUDIT_ROWS,
  ...VERSION_ROWS,
  ...NETNS_ROWS,
  ...ENV_ROWS,
  ...COMBO_ROWS,
  ...PIPE_ROWS,
  ...KUBECONFIG_ROWS,
  ...CRI_ROWS,
  ...API_ROWS,
  ...PROC_ROWS,
];
