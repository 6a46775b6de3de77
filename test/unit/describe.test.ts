import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { DESCRIBED_REPORT, readReport } from '../../src/audit/integrity.js';
import { formatDescription, shellWord } from '../../src/cli/describe-output.js';
import { parseConfig } from '../../src/config/config.js';
import { ConfigError } from '../../src/config/flags.js';
import { FINDING_CATALOGUE, FINDING_IDS } from '../../src/inspect/catalogue.js';
import { inspect } from '../../src/inspect/inspect.js';
import { buildReport } from '../../src/report/report.js';
import type { NamespaceReport } from '../../src/report/types.js';
import { HOST_NS, containerMounts, sample, sandbox, snapshot } from './snapshot.js';

/**
 * A node of four pods: two on the host network (one listening on the node's address and on
 * loopback), a CSI-like pod with a Bidirectional mount, and a plain pod.
 */
function node(): NamespaceReport[] {
  const snap = snapshot(
    [
      sandbox(
        [
          sample('proxy', {
            ns: { ...HOST_NS, mnt: 21, pid: 22, ipc: 23, uts: 24 },
            pid: 2100,
            sandboxId: 'sb-a',
          }),
        ],
        {
          name: 'kube-proxy-x',
          namespace: 'kube-system',
          id: 'sb-a',
          uid: 'uid-a',
          network: 'NODE',
        },
      ),
      sandbox(
        [
          sample('exporter', {
            ns: { ...HOST_NS, mnt: 31, pid: 32, ipc: 33, uts: 34 },
            pid: 3100,
            sandboxId: 'sb-b',
          }),
        ],
        {
          name: 'node-exporter-y',
          namespace: 'monitoring',
          id: 'sb-b',
          uid: 'uid-b',
          network: 'NODE',
        },
      ),
      sandbox(
        [
          sample('driver', {
            pid: 4100,
            sandboxId: 'sb-c',
            privileged: true,
            ns: { ...HOST_NS, net: 401, mnt: 402, pid: 403, ipc: 404, uts: 405 },
            mounts: [
              {
                containerPath: '/csi',
                hostPath: '/srv/shared',
                readOnly: false,
                propagation: 'Bidirectional',
              },
            ],
            mountinfo: containerMounts(['11 10 8:1 /srv/shared /csi rw shared:1 - ext4 /dev/a rw']),
          }),
        ],
        { name: 'csi-node-z', namespace: 'storage', id: 'sb-c', uid: 'uid-c' },
      ),
      sandbox([sample('web', { pid: 5100, sandboxId: 'sb-d' })], {
        name: 'web-0',
        namespace: 'default',
        id: 'sb-d',
        uid: 'uid-d',
      }),
    ],
    {
      networks: new Map([
        [
          HOST_NS.net ?? 1,
          {
            interfaces: [{ name: 'eth0', ipv4: ['10.0.0.5/24'], ipv6: [] }],
            listeners: [
              {
                protocol: 'tcp',
                address: '0.0.0.0',
                port: 9100,
                container: 'exporter',
                containerId: 'id-exporter',
              },
              {
                protocol: 'tcp',
                address: '127.0.0.1',
                port: 10249,
                container: 'proxy',
                containerId: 'id-proxy',
              },
            ],
          },
        ],
      ]),
    },
  );
  return inspect(snap).map((p) => buildReport(p, null));
}

function describeOf(name: string, reports = node()): string {
  const report = reports.find((r) => r.metadata.name === name);
  assert.ok(report, name);
  return formatDescription({
    report,
    neighbours: reports,
    source: { kind: 'local' },
    color: false,
  });
}

test('describe: a hostNetwork pod shares the node network with its hostNetwork neighbour, and says who listens', () => {
  const text = describeOf('node-exporter-y');
  assert.match(
    text,
    /network: +yes: the node's own network namespace; also the host's for kube-system\/kube-proxy-x/,
  );
  assert.match(text, /pid: +no\n/);
  assert.match(
    text,
    /tcp +0\.0\.0\.0:9100 +exporter +from outside the node, on the node's addresses/,
  );
  assert.doesNotMatch(text, /10249/, "the other hostNetwork pod's listener is its own");
  assert.match(
    describeOf('kube-proxy-x'),
    /tcp +127\.0\.0\.1:10249 +proxy +only from the node itself \(loopback\)/,
  );
  // Its net namespace is the host's, shared with the other hostNetwork pod; mnt is its own.
  assert.match(text, /net +1 +the host's +pods (?:[a-z-]+\/[a-z-]+, )*kube-system\/kube-proxy-x/);
  assert.match(text, /mnt +31 +the container's +-/);
  assert.match(text, /NSR001: /);
  assert.match(text, /fix: drop `hostNetwork`/);
  assert.match(text, /nsenter -t 3100 -n ss -tulpn/);
  assert.match(text, /findmnt -N 3100 -o TARGET,SOURCE,PROPAGATION/);
  assert.match(text, /nsreport netns link monitoring\/node-exporter-y/);
  assert.match(text, /ip netns exec monitoring_node-exporter-y ip -br addr/);
});

test('describe: a Bidirectional mount says that mounts cross both ways; a plain pod shares nothing', () => {
  const csi = describeOf('csi-node-z');
  assert.match(
    csi,
    /\/csi +\/srv\/shared +rw +Bidirectional +shared +a mount made on the host appears here, and one made here reaches the host/,
  );
  assert.match(csi, /NSR004/);
  assert.match(csi, /NSR009/);
  assert.match(csi, /Privileged: +yes/);
  const web = describeOf('web-0');
  assert.match(web, /network: +no\n/);
  assert.match(web, /Network \(the pod's own network namespace \d+\):/);
  assert.match(web, /Findings: +none/);
  assert.match(web, /user +6 +the host's/);
});

test('describe: what a report says is escaped, and quoted in the commands to paste', () => {
  const reports = node();
  const web = reports.find((r) => r.metadata.name === 'web-0');
  assert.ok(web);
  const evil = structuredClone(web);
  evil.metadata.name = "x'; rm -rf / #\u001b[2J";
  (evil.report.containers[0] as { image: string }).image = 'img\u001b]0;owned\u0007';
  // Fields no shape check reads: a netns and an escaped process that are not what they say.
  (evil.report.network as { netns: unknown }).netns = '\u001b[2J';
  (evil.report.containers[0] as { escaped: unknown }).escaped = [
    { pid: 7, comm: 'sh\u001b[1A', namespace: 'net\u001b', into: 'host' },
  ];
  const text = formatDescription({
    report: evil,
    neighbours: reports,
    source: { kind: 'local' },
    color: false,
  });
  assert.ok(!text.includes('\u001b') && !text.includes('\u0007'), 'no control character');
  assert.match(text, /nsreport netns link 'default\/x'"'"'; rm -rf \/ #\\x1b\[2J'/);
  assert.equal(shellWord('a b'), "'a b'");
  assert.equal(shellWord("it's"), `'it'"'"'s'`);
  assert.equal(shellWord('kube-system/x.y'), 'kube-system/x.y');
});

test('describe: a report held against its Pod says whether it agrees; colours only when asked', () => {
  const [report] = node();
  assert.ok(report);
  const base = { report, neighbours: [report], color: false } as const;
  const agrees = formatDescription({
    ...base,
    source: { kind: 'cluster', server: 'https://k', integrity: [] },
  });
  assert.match(agrees, /Source: +the NamespaceReport on https:\/\/k; it agrees with its Pod/);
  const forged = formatDescription({
    ...base,
    color: true,
    source: {
      kind: 'cluster',
      server: 'https://k',
      integrity: [
        { check: 'node', severity: 'critical', message: 'says node a; the Pod is bound to b' },
      ],
    },
  });
  assert.match(forged, /it DISAGREES with its Pod/);
  assert.ok(forged.includes('\u001b[1;31mcritical\u001b[0m  node: says node a'), forged);
  const unread = formatDescription({
    ...base,
    source: { kind: 'cluster', server: 'https://k', integrity: null },
  });
  assert.match(unread, /its Pod could not be read: not checked against it/);
  const alone = formatDescription({ ...base, neighbours: null, source: { kind: 'local' } });
  assert.match(
    alone,
    /^Neighbours: +not read \(not allowed to list the NamespaceReports of its node\)$/m,
  );
});

test('describe: a report of another shape is refused as a value, never thrown on', () => {
  const [report] = node();
  assert.ok(report);
  assert.equal(readReport(report, DESCRIBED_REPORT).ok, true);
  /** A copy of the report with the value at a path replaced. */
  const edited = (path: (string | number)[], value: unknown): unknown => {
    const copy = structuredClone(report) as unknown as Record<string | number, unknown>;
    let at = copy;
    for (const k of path.slice(0, -1)) at = at[k] as Record<string | number, unknown>;
    at[path.at(-1) ?? ''] = value; // undefined reads as absent, as JSON has it
    return copy;
  };
  for (const bad of [
    edited(['report', 'runtime'], undefined),
    edited(['report', 'containers', 0, 'namespaces'], 'x'),
    edited(['report', 'containers', 0, 'namespaces', 'net'], { inode: 'one' }),
    edited(['report', 'containers', 0, 'pid'], '12'),
    edited(['report', 'network', 'interfaces'], [{ name: 1 }]),
  ])
    assert.equal(readReport(bad, DESCRIBED_REPORT).ok, false);
});

test('describe: the pod argument in the forms of nsreport and kubectl', () => {
  const pod = (argv: string[]): unknown => {
    const c = parseConfig(['describe', ...argv], {});
    assert.equal(c.command, 'describe');
    return c.command === 'describe' ? c.pod : null;
  };
  assert.deepEqual(pod(['kube-system/kube-proxy-x']), {
    namespace: 'kube-system',
    name: 'kube-proxy-x',
  });
  assert.deepEqual(pod(['pod/web-0', '-n', 'default']), { namespace: 'default', name: 'web-0' });
  assert.deepEqual(pod(['pods/web-0']), { namespace: null, name: 'web-0' });
  assert.deepEqual(pod(['po/web-0', '--local']), { namespace: 'default', name: 'web-0' });
  assert.deepEqual(pod(['web-0', '-n', 'prod']), { namespace: 'prod', name: 'web-0' });
  for (const bad of [[], ['a/b/c'], ['Bad_Name'], ['a/b', 'c/d'], ['ns1/x', '-n', 'ns2'], ['pod/']])
    assert.throws(() => parseConfig(['describe', ...bad], {}), ConfigError, bad.join(' '));
});

const quote = (text: string): string => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

test('findings catalogue: one entry per finding id, its words those of docs/findings.md', () => {
  const doc = readFileSync(new URL('../../../docs/findings.md', import.meta.url), 'utf8');
  assert.deepEqual(Object.keys(FINDING_CATALOGUE), [...FINDING_IDS]);
  const flat = doc.replace(/\s+/g, ' ');
  for (const [id, e] of Object.entries(FINDING_CATALOGUE)) {
    assert.match(
      doc,
      new RegExp(
        `\\[${id}\\]\\(#${e.anchor}\\) *\\| ${quote(e.severity)} +\\| ${quote(e.summary)} +\\|`,
      ),
      id,
    );
    const section = flat.slice(flat.indexOf(`## ${id} `));
    const fix = section.slice(section.indexOf('**Fix** ') + '**Fix** '.length);
    assert.ok(
      fix.startsWith(e.fix),
      `${id}: docs/findings.md's fix starts otherwise: ${fix.slice(0, 80)}`,
    );
  }
});

test('docs/commands.md shows describe as it prints (the CSI-like pod of this file)', () => {
  const doc = readFileSync(new URL('../../../docs/commands.md', import.meta.url), 'utf8');
  const text = describeOf('csi-node-z');
  assert.ok(
    doc.includes(`\`\`\`\n$ nsreport describe storage/csi-node-z\n${text}\`\`\``),
    `docs/commands.md: its describe example is not what describe prints now:\n${text}`,
  );
});
