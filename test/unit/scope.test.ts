import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  describeScope,
  splitByScope,
  targets,
  type AgentDaemonSet,
  type NodeInfo,
} from '../../src/audit/scope.js';

/** The chart's DaemonSet: Linux nodes, every taint tolerated. */
const chart: AgentDaemonSet = {
  namespace: 'nsreport',
  name: 'nsreport',
  nodeSelector: { 'kubernetes.io/os': 'linux' },
  nodeSelectorTerms: [],
  tolerations: [{ operator: 'Exists' }],
};
const node = (name: string, labels: Record<string, string>, taints: NodeInfo['taints'] = []) => ({
  name,
  labels: { 'kubernetes.io/os': 'linux', ...labels },
  taints,
});

test("the chart's DaemonSet: every Linux node, tainted or not; not Windows", () => {
  assert.equal(targets(chart, node('a', {})), true);
  assert.equal(
    targets(
      chart,
      node('cp', {}, [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }]),
    ),
    true,
  );
  assert.equal(targets(chart, node('win', { 'kubernetes.io/os': 'windows' })), false);
});

test('taints: NoSchedule and NoExecute need a toleration; PreferNoSchedule and the controller defaults do not', () => {
  const gpu = { key: 'nvidia.com/gpu', value: 'present', effect: 'NoSchedule' };
  const strict: AgentDaemonSet = { ...chart, tolerations: [] };
  assert.equal(targets(strict, node('g', {}, [gpu])), false);
  assert.equal(targets(strict, node('p', {}, [{ ...gpu, effect: 'PreferNoSchedule' }])), true);
  assert.equal(
    targets(strict, node('nr', {}, [{ key: 'node.kubernetes.io/not-ready', effect: 'NoExecute' }])),
    true,
  );
  const tol = (t: AgentDaemonSet['tolerations'][number]): boolean =>
    targets({ ...strict, tolerations: [t] }, node('g', {}, [gpu]));
  assert.equal(tol({ key: 'nvidia.com/gpu', operator: 'Exists' }), true);
  assert.equal(tol({ key: 'nvidia.com/gpu', operator: 'Equal', value: 'present' }), true);
  assert.equal(tol({ key: 'nvidia.com/gpu', value: 'absent' }), false);
  assert.equal(tol({ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoExecute' }), false);
  assert.equal(tol({ operator: 'Exists', effect: 'NoSchedule' }), true);
});

test('required node affinity: terms ORed, expressions ANDed, every operator; matchFields by name', () => {
  const ds = (terms: AgentDaemonSet['nodeSelectorTerms']): AgentDaemonSet => ({
    ...chart,
    nodeSelectorTerms: terms,
  });
  const pool = node('n1', { pool: 'batch', cores: '16' });
  assert.equal(
    targets(ds([{ matchExpressions: [{ key: 'pool', operator: 'In', values: ['batch'] }] }]), pool),
    true,
  );
  assert.equal(
    targets(
      ds([{ matchExpressions: [{ key: 'pool', operator: 'NotIn', values: ['batch'] }] }]),
      pool,
    ),
    false,
  );
  assert.equal(
    targets(ds([{ matchExpressions: [{ key: 'pool', operator: 'Exists' }] }]), pool),
    true,
  );
  assert.equal(
    targets(ds([{ matchExpressions: [{ key: 'spot', operator: 'DoesNotExist' }] }]), pool),
    true,
  );
  assert.equal(
    targets(ds([{ matchExpressions: [{ key: 'cores', operator: 'Gt', values: ['8'] }] }]), pool),
    true,
  );
  assert.equal(
    targets(ds([{ matchExpressions: [{ key: 'cores', operator: 'Lt', values: ['8'] }] }]), pool),
    false,
  );
  assert.equal(
    targets(ds([{ matchExpressions: [{ key: 'pool', operator: 'Gt', values: ['8'] }] }]), pool),
    false,
  );
  assert.equal(
    targets(
      ds([
        { matchExpressions: [{ key: 'pool', operator: 'In', values: ['web'] }] },
        { matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n1'] }] },
      ]),
      pool,
    ),
    true,
  );
  assert.equal(targets(ds([{}]), pool), false, 'an empty term matches nothing');
});

test('split: out-of-scope nodes set apart; unknown DaemonSets or nodes keep every node in scope', () => {
  const nodes = new Map(
    [node('a', {}), node('win', { 'kubernetes.io/os': 'windows' })].map((n) => [n.name, n]),
  );
  assert.deepEqual(splitByScope(['a', 'win', 'gone'], nodes, [chart]), {
    inScope: ['a', 'gone'],
    outOfScope: ['win'],
  });
  assert.deepEqual(splitByScope(['a', 'win'], nodes, null).outOfScope, []);
  assert.deepEqual(splitByScope(['a', 'win'], null, [chart]).outOfScope, []);
  assert.deepEqual(splitByScope(['a', 'win'], nodes, []).outOfScope, []);
  assert.equal(
    describeScope([chart]),
    'DaemonSet nsreport/nsreport (nodeSelector kubernetes.io/os=linux; tolerates every taint)',
  );
  assert.match(describeScope(null), /could not be read/);
});
