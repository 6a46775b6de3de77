import assert from 'node:assert/strict';
import { test } from 'node:test';
import { unmetRequests } from '../../src/audit/features.js';
import type { PodSummary } from '../../src/audit/reader.js';
import type { NodeInfo } from '../../src/audit/scope.js';
import { isolationAsks, runtimeFeatures } from '../../src/k8s/cluster.js';
import { fixture } from './fixtures.js';

const pod = (name: string, spec: object, node = 'node-1'): PodSummary => {
  const asks = isolationAsks(spec);
  return {
    namespace: 'shop',
    name,
    uid: `uid-${name}`,
    mirrorOf: '',
    node,
    phase: 'Pending',
    hostNetwork: false,
    hostPID: false,
    hostIPC: false,
    ...(asks ? { asks } : {}),
  };
};

test('a Pod spec: hostUsers false, recursiveReadOnly Enabled, Strict groups, its RuntimeClass', () => {
  assert.equal(isolationAsks({ containers: [{ name: 'a' }] }), undefined);
  assert.deepEqual(
    isolationAsks({
      hostUsers: false,
      runtimeClassName: 'gvisor',
      securityContext: { supplementalGroupsPolicy: 'Strict' },
      containers: [{ volumeMounts: [{ name: 'h', readOnly: true, recursiveReadOnly: 'Enabled' }] }],
    }),
    { userNamespace: true, recursiveReadOnly: true, strictGroups: true, runtimeClass: 'gvisor' },
  );
  // IfPossible falls back by design; hostUsers true or unset asks nothing; junk reads as nothing.
  assert.equal(
    isolationAsks({
      hostUsers: 'false',
      containers: [{ volumeMounts: [{ recursiveReadOnly: 'IfPossible' }] }],
    }),
    undefined,
  );
  assert.equal(isolationAsks(7), undefined);
});

test('Node status: runtime handlers and features, as a kubelet 1.35 on containerd 2.2 says them', () => {
  const nodes = JSON.parse(fixture('isolation/node.json')) as { items: { status: unknown }[] };
  assert.deepEqual(runtimeFeatures(nodes.items[0]?.status), {
    handlers: [
      { name: '', userNamespaces: true, recursiveReadOnlyMounts: true },
      { name: 'debrunc', userNamespaces: false, recursiveReadOnlyMounts: true },
      { name: 'runc', userNamespaces: true, recursiveReadOnlyMounts: true },
    ],
    supplementalGroupsPolicy: true,
  });
  // containerd 1.6's runtime says nothing; its kubelet (1.35) takes that as nothing given.
  const old = JSON.parse(fixture('isolation/containerd-1.6/node.json')) as {
    items: { status: unknown }[];
  };
  assert.deepEqual(runtimeFeatures(old.items[0]?.status), {
    handlers: [],
    supplementalGroupsPolicy: false,
  });
  // A kubelet before 1.30 says nothing of anything.
  assert.equal(runtimeFeatures({ nodeInfo: { kubeletVersion: 'v1.29.9' } }), undefined);
  assert.equal(runtimeFeatures({}), undefined);
  assert.deepEqual(runtimeFeatures({ runtimeHandlers: [7, { name: 3, features: 'x' }] }), {
    handlers: [{ name: '', userNamespaces: false, recursiveReadOnlyMounts: false }],
    supplementalGroupsPolicy: null,
  });
});

test('unmet requests: a handler without user namespaces, a node without rro or Strict groups', () => {
  const nodes = new Map<string, NodeInfo>([
    [
      'node-1',
      {
        name: 'node-1',
        labels: {},
        taints: [],
        runtime: {
          handlers: [
            { name: '', userNamespaces: true, recursiveReadOnlyMounts: true },
            { name: 'debrunc', userNamespaces: false, recursiveReadOnlyMounts: true },
          ],
          supplementalGroupsPolicy: true,
        },
      },
    ],
    [
      'old',
      {
        name: 'old',
        labels: {},
        taints: [],
        runtime: {
          handlers: [{ name: '', userNamespaces: false, recursiveReadOnlyMounts: false }],
          supplementalGroupsPolicy: false,
        },
      },
    ],
    ['silent', { name: 'silent', labels: {}, taints: [] }],
  ]);
  const classes = new Map([['deb', 'debrunc']]);
  const rro = { containers: [{ volumeMounts: [{ recursiveReadOnly: 'Enabled' }] }] };
  const pods = [
    pod('given', { hostUsers: false }),
    pod('refused', { hostUsers: false, runtimeClassName: 'deb' }),
    pod('unknown-class', { hostUsers: false, runtimeClassName: 'nope' }),
    pod('old-userns', { hostUsers: false }, 'old'),
    pod('old-rro', rro, 'old'),
    pod('old-groups', { securityContext: { supplementalGroupsPolicy: 'Strict' } }, 'old'),
    pod('silent', { hostUsers: false }, 'silent'),
    {
      ...pod('strict-refused', { securityContext: { supplementalGroupsPolicy: 'Strict' } }, 'old'),
      phase: 'Failed',
      asks: { strictGroups: true as const, rejected: 'SupplementalGroupsPolicyNotSupported' },
    },
    { ...pod('done', { hostUsers: false }, 'old'), phase: 'Succeeded' },
  ];
  assert.deepEqual(
    unmetRequests(pods, nodes, classes, () => true),
    [
      {
        namespace: 'shop',
        name: 'old-groups',
        node: 'old',
        handler: '',
        missing: ['supplementalGroupsPolicy: Strict'],
      },
      {
        namespace: 'shop',
        name: 'old-rro',
        node: 'old',
        handler: '',
        missing: ['recursiveReadOnly: Enabled'],
      },
      {
        namespace: 'shop',
        name: 'old-userns',
        node: 'old',
        handler: '',
        missing: ['hostUsers: false'],
      },
      {
        namespace: 'shop',
        name: 'refused',
        node: 'node-1',
        handler: 'debrunc',
        missing: ['hostUsers: false'],
      },
      {
        namespace: 'shop',
        name: 'strict-refused',
        node: 'old',
        handler: '',
        missing: ['supplementalGroupsPolicy: Strict'],
      },
    ],
  );
  assert.deepEqual(
    unmetRequests(pods, null, classes, () => true),
    [],
  );
  assert.deepEqual(
    unmetRequests(pods, nodes, classes, (n) => n === 'node-1').map((u) => u.name),
    ['refused'],
  );
});
