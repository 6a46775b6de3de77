import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { inspect } from '../../src/inspect/inspect.js';
import { buildReport } from '../../src/report/report.js';
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

test('every field of a report is declared in the CRD schema (nothing the API server would prune)', () => {
  const schema = crd.spec.versions[0]?.schema.openAPIV3Schema;
  assert.ok(schema);
  const networks = new Map([
    [
      1,
      {
        interfaces: [{ name: 'eth0', ipv4: ['192.0.2.2'], ipv6: ['fd00::2'] }],
        listeners: [
          {
            protocol: 'tcp' as const,
            address: '0.0.0.0',
            port: 80,
            container: 'server',
            containerId: 'id-server',
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
  ];
  const pods = inspect(
    snapshot(
      [
        sandbox([sample('server', { ns: { ...HOST_NS, mnt: 102 }, mounts, privileged: true })], {
          network: 'NODE',
        }),
      ],
      { networks },
    ),
  );
  const pod = pods[0];
  assert.ok(pod && pod.findings.length > 2 && pod.network.listeners.length === 1);
  const escaped = { pid: 4242, comm: 'sh', namespace: 'mnt' as const, into: 'host' };
  const withEscape = {
    ...pod,
    containers: pod.containers.map((c) => ({ ...c, escaped: [escaped] })),
  };
  const report = buildReport({ ...withEscape, error: 'PodSandboxStatus: deadline' }, 'node-uid');
  assert.ok(report.report.containers[0]?.escaped);
  assert.deepEqual(undeclared(report, schema, ''), []);
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
