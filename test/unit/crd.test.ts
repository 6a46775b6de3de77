import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { inspect } from '../../src/inspect/inspect.js';
import { buildReport } from '../../src/report/report.js';
import type { NamespaceReport } from '../../src/report/types.js';
import type { Schema } from '../../scripts/reference.js';
import { HOST_NS, sample, sandbox, snapshot } from './snapshot.js';

/**
 * Every field the agent writes is declared in the CRD. The API server prunes undeclared fields,
 * so the object read back would never hash as the agent wants it, and a level-triggered agent
 * would write it again forever.
 */
const crd = parse(
  readFileSync(
    fileURLToPath(
      new URL('../../../charts/nsreport/crds/namespacereports.nsreport.dev.yaml', import.meta.url),
    ),
    'utf8',
  ),
) as { spec: { versions: { schema: { openAPIV3Schema: Schema } }[] } };

function undeclared(value: unknown, schema: Schema, path: string): string[] {
  if (schema['x-kubernetes-preserve-unknown-fields']) return [];
  if (Array.isArray(value))
    return value.flatMap((v, i) =>
      schema.items ? undeclared(v, schema.items, `${path}[${i}]`) : [],
    );
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([k, v]) => {
    const sub =
      schema.properties?.[k] ??
      (typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined);
    if (sub) return undeclared(v, sub, `${path}.${k}`);
    return schema.type === 'object' && !schema.properties ? [] : [`${path}.${k}`];
  });
}

/**
 * What the API server checks of a value against the schema, as far as the CRD uses it: type,
 * nullable, enum, pattern (RE2 there; the CRD's patterns mean the same in JavaScript, see
 * below), maxLength in characters (code points, as Go's utf8.RuneCountInString), min/max, maxItems, required and oneOf.
 */
function invalid(value: unknown, schema: Schema, path: string): string[] {
  if (schema['x-kubernetes-preserve-unknown-fields']) return [];
  if (value === null) return schema.nullable ? [] : [`${path}: null`];
  switch (schema.type) {
    case 'string':
      return invalidString(value, schema, path);
    case 'integer':
      if (typeof value !== 'number' || !Number.isInteger(value)) return [`${path}: not an integer`];
      if (schema.minimum !== undefined && value < schema.minimum) return [`${path}: below minimum`];
      if (schema.maximum !== undefined && value > schema.maximum) return [`${path}: above maximum`];
      return [];
    case 'boolean':
      return typeof value === 'boolean' ? [] : [`${path}: not a boolean`];
    case 'array':
      if (!Array.isArray(value)) return [`${path}: not an array`];
      if (schema.maxItems !== undefined && value.length > schema.maxItems)
        return [`${path}: more than ${schema.maxItems} items`];
      return value.flatMap((v, i) =>
        schema.items ? invalid(v, schema.items, `${path}[${i}]`) : [],
      );
    case 'object':
      return invalidObject(value, schema, path);
    default:
      return [];
  }
}

function invalidString(value: unknown, schema: Schema, path: string): string[] {
  if (typeof value !== 'string') return [`${path}: not a string`];
  if (schema.enum && !schema.enum.includes(value)) return [`${path}: not one of the enum`];
  if (schema.maxLength !== undefined && Array.from(value).length > schema.maxLength)
    return [`${path}: longer than ${schema.maxLength}`];
  if (schema.pattern !== undefined && !new RegExp(schema.pattern, 'u').test(value))
    return [`${path}: does not match ${schema.pattern}`];
  return [];
}

function invalidObject(value: unknown, schema: Schema, path: string): string[] {
  if (typeof value !== 'object' || Array.isArray(value)) return [`${path}: not an object`];
  const o = value as Record<string, unknown>;
  const missing = (schema.required ?? []).filter((k) => o[k] === undefined);
  const out = missing.map((k) => `${path}.${k}: required`);
  if (schema.oneOf) {
    const holds = schema.oneOf.filter((alt) => invalidObject(o, alt, path).length === 0).length;
    if (holds !== 1) out.push(`${path}: ${holds} of oneOf hold`);
  }
  for (const [k, v] of Object.entries(o)) {
    const sub =
      schema.properties?.[k] ??
      (typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined);
    if (sub && v !== undefined) out.push(...invalid(v, sub, `${path}.${k}`));
  }
  return out;
}

const schemaOf = (): Schema => {
  const schema = crd.spec.versions[0]?.schema.openAPIV3Schema;
  assert.ok(schema);
  return schema;
};

/** Ids as containerd and CRI-O make them (test/fixtures/cri), a UUID as the API's. */
const SANDBOX_ID = '4a9badfdc9783f58f3c13aacafe543bdee78c7e595cf9101949e37d6f2d9b606';
const CONTAINER_ID = 'f9e3372a43b9702ce75ef245268572de7a9a162dc3b7769dc61505be784a692a';
const POD_UID = '0a47ab6e-488c-4359-b595-78b18a5b3edb';

/** A hostNetwork pod with a privileged container, a listener, a mount and a host port. */
function fullReport(o: { uid?: string; static?: boolean; error?: string } = {}): NamespaceReport {
  const networks = new Map([
    [
      1,
      {
        interfaces: [
          { name: 'eth0', ipv4: ['192.0.2.2'], ipv6: ['fd00::2', '::ffff:c000:202'] },
          { name: 'lo', ipv4: ['127.0.0.1'], ipv6: ['::1'] },
          // The kernel refuses only '/', ':' and whitespace: a container with CAP_NET_ADMIN
          // chooses the rest, and its report must still be written.
          { name: 'cali1234567890a', ipv4: [], ipv6: ['fe80::1'] },
          { name: 'v\u00e9\u001b[2J', ipv4: [], ipv6: [] },
        ],
        listeners: [
          {
            protocol: 'tcp' as const,
            address: '0.0.0.0',
            port: 80,
            container: 'server',
            containerId: CONTAINER_ID,
          },
          {
            protocol: 'udp6' as const,
            address: '::',
            port: 53,
            container: 'server',
            containerId: CONTAINER_ID,
          },
        ],
      },
    ],
  ]);
  const mounts = [
    {
      containerPath: '/data',
      hostPath: '/srv',
      readOnly: false,
      propagation: 'Bidirectional' as const,
    },
    {
      // Paths and images are free text: whatever the pod spec says, escapes included.
      containerPath: '/x\u001b]0;t\u0007',
      hostPath: `/var/lib/kubelet/pods/${o.uid ?? POD_UID}/volumes/kubernetes.io~secret/s`,
      readOnly: true,
      propagation: 'None' as const,
    },
  ];
  const hostPorts = [
    {
      protocol: 'TCP' as const,
      containerPort: 80,
      hostPort: 8080,
      hostIp: '',
      container: 'server',
    },
  ];
  const pods = inspect(
    snapshot(
      [
        sandbox(
          [
            sample('server', {
              id: CONTAINER_ID,
              sandboxId: SANDBOX_ID,
              ns: { ...HOST_NS, mnt: 102 },
              mounts,
              privileged: true,
              hostPorts,
            }),
          ],
          {
            id: SANDBOX_ID,
            uid: o.uid ?? POD_UID,
            network: 'NODE',
            ...(o.static !== undefined ? { static: o.static } : {}),
          },
        ),
      ],
      { networks },
    ),
  );
  const pod = pods[0];
  assert.ok(pod && pod.findings.length > 2 && pod.network.listeners.length === 2);
  // A process of the container in the host's mount namespace (NSR013), its name its own.
  const escaped = { pid: 4242, comm: 'sh\u001b[2J', namespace: 'mnt' as const, into: 'host' };
  const withEscape = {
    ...pod,
    containers: pod.containers.map((c) => ({ ...c, escaped: [escaped] })),
  };
  const report = buildReport(
    { ...withEscape, ...(o.error !== undefined ? { error: o.error } : {}) },
    'node-uid',
  );
  assert.ok(report.report.containers[0]?.escaped);
  return report;
}

test('every field of a report is declared in the CRD schema (nothing the API server would prune)', () => {
  const report = fullReport({ error: 'PodSandboxStatus: deadline' });
  assert.deepEqual(undeclared(report, schemaOf(), ''), []);
});

test('every report the agent writes holds against the schema: ids, UIDs, names, addresses', () => {
  const reports = [
    fullReport({ error: 'PodSandboxStatus: deadline\u001b[2J' }),
    // A static pod: its CRI UID is the kubelet's hash of its manifest.
    fullReport({ uid: '6b1bbc9a1ec5c6a0f6f8a8c1e4c3c2a7', static: true }),
    // A sandbox no kubelet made may name no UID; a static manifest may set its own.
    fullReport({ uid: '' }),
    fullReport({ uid: 'My-Static.Pod_1', static: true }),
  ];
  for (const r of reports) assert.deepEqual(invalid(r, schemaOf(), ''), [], JSON.stringify(r));
  const hostile = reports[0];
  assert.ok(hostile?.report.containers[0]?.mounts.some((m) => m.destination.includes('\u001b')));
});

/** `report` with the value at `path` replaced (a forged report, or a bug of the agent). */
function withField(report: NamespaceReport, path: (string | number)[], value: unknown): unknown {
  const copy = JSON.parse(JSON.stringify(report)) as Record<string | number, unknown>;
  let at: Record<string | number, unknown> = copy;
  for (const k of path.slice(0, -1)) at = at[k] as Record<string | number, unknown>;
  at[path.at(-1) ?? ''] = value;
  return copy;
}

test('and the other values those fields take hold too', () => {
  const r = fullReport();
  const net = ['report', 'network'];
  const cases: [(string | number)[], unknown][] = [
    // A socket no container's process holds (outside a hostNetwork pod).
    [[...net, 'listeners', 0, 'container'], ''],
    [[...net, 'listeners', 0, 'address'], '::ffff:c000:202'],
    [[...net, 'listeners', 0, 'address'], '255.255.255.255'],
    [[...net, 'interfaces', 0, 'name'], '..'],
    [['report', 'containers', 0, 'name'], 'a'.repeat(63)],
    [['report', 'node'], 'ip-10-0-100-200.eu-west-3.compute.internal'],
    // The pod spec's hostIP is copied as the kubelet passes it.
    [[...net, 'hostPorts', 0, 'hostIp'], 'not an address'],
  ];
  for (const [path, value] of cases)
    assert.deepEqual(invalid(withField(r, path, value), schemaOf(), ''), [], path.join('.'));
});

test('a field with a known shape refuses what the agent never writes (escapes included)', () => {
  const r = fullReport();
  const net = ['report', 'network'];
  const cases: [(string | number)[], unknown][] = [
    [['report', 'node'], 'Node_1'],
    [['report', 'node'], 'node-1\u001b[2J'],
    [['report', 'node'], 'a'.repeat(254)],
    [['report', 'pod', 'uid'], '-x'],
    [['report', 'pod', 'uid'], `${POD_UID}\n`],
    [['report', 'pod', 'uid'], 'my pod'],
    [['report', 'pod', 'uid'], 'u'.repeat(129)],
    [['report', 'sandbox', 'id'], 'sb-1'],
    [['report', 'sandbox', 'id'], `${SANDBOX_ID.slice(1)}\u009b`],
    [['report', 'containers', 0, 'id'], 'id-server'],
    [['report', 'containers', 0, 'name'], 'server\u001b]0;pwned\u0007'],
    [['report', 'containers', 0, 'name'], 'a'.repeat(64)],
    [[...net, 'interfaces', 0, 'name'], 'eth0/x'],
    [[...net, 'interfaces', 0, 'name'], 'eth0:1'],
    [[...net, 'interfaces', 0, 'name'], 'eth 0'],
    [[...net, 'interfaces', 0, 'name'], 'a'.repeat(16)],
    [[...net, 'interfaces', 0, 'name'], ''],
    [[...net, 'interfaces', 0, 'ipv4', 0], '192.0.2.2\u001b[2J'],
    [[...net, 'interfaces', 0, 'ipv6', 0], 'fd00::2\r'],
    [[...net, 'listeners', 0, 'address'], 'localhost'],
    [[...net, 'listeners', 0, 'container'], 'server\u001b[1A'],
    [[...net, 'listeners', 0, 'protocol'], 'sctp'],
    [[...net, 'hostPorts', 0, 'container'], 'Server'],
    [['report', 'findings', 0, 'id'], 'NSR001\u001b[2J'],
    [['report', 'findings', 0, 'container'], 'server\n'],
    [['report', 'findings', 0, 'message'], 'x'.repeat(1025)],
    [['report', 'containers', 0, 'image'], 'x'.repeat(1025)],
    [['report', 'containers', 0, 'escaped', 0, 'namespace'], 'mnt\u001b'],
    [['report', 'containers', 0, 'escaped', 0, 'comm'], 'x'.repeat(65)],
  ];
  for (const [path, value] of cases) {
    const at = path.map((k) => (typeof k === 'number' ? `[${k}]` : `.${k}`)).join('');
    const problems = invalid(withField(r, path, value), schemaOf(), '');
    assert.ok(
      problems.some((p) => p.startsWith(`${at}: `)),
      `${at} = ${JSON.stringify(value)}: ${problems.join('; ') || 'accepted'}`,
    );
  }
});

test("the CRD's patterns are RE2 as the API server reads them: no lookaround, no backreference", () => {
  const patterns: string[] = [];
  const walk = (s: Schema): void => {
    if (s.pattern !== undefined) patterns.push(s.pattern);
    for (const sub of Object.values(s.properties ?? {})) walk(sub);
    if (s.items) walk(s.items);
  };
  walk(schemaOf());
  assert.ok(patterns.length >= 10);
  for (const p of patterns) {
    assert.doesNotMatch(p, /\(\?[=!<]|\\[1-9]|\\[pPk]/, p);
    assert.match(p, /^\^.*\$$/, `${p}: anchored`);
  }
});

test('every field of the CRD has a description (what kubectl explain prints)', () => {
  const schema = crd.spec.versions[0]?.schema.openAPIV3Schema;
  assert.ok(schema);
  const missing: string[] = [];
  const walk = (s: Schema, path: string): void => {
    for (const [k, sub] of Object.entries(s.properties ?? {})) {
      // The API server refuses a description on metadata: it is ObjectMeta's.
      if (!sub.description && `${path}.${k}` !== '.metadata') missing.push(`${path}.${k}`);
      walk(sub, `${path}.${k}`);
    }
    if (s.items) walk(s.items, `${path}[]`);
  };
  walk(schema, '');
  assert.deepEqual(missing, []);
});
