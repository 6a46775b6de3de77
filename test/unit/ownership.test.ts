import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decideClaim, type ClaimDecision, type ClaimFacts } from '../../src/agent/ownership.js';
import type { PodBinding, StoredReport } from '../../src/k8s/store.js';

const HERE = 'node-1';

function stored(nodeLabel: string, hash = 'old', podUid = 'u1'): StoredReport {
  return {
    namespace: 'shop',
    name: 'web-0',
    uid: 'r1',
    resourceVersion: '7',
    nodeLabel,
    podUid,
    sandboxReady: true,
    hash,
    hostLabels: [],
  };
}

const pod = (uid: string, node: string, mirrorOf = ''): PodBinding => ({ uid, node, mirrorOf });
const update = (takeOver: boolean): ClaimDecision => ({
  action: 'update',
  resourceVersion: '7',
  takeOver,
});

// report (its node label, content), the Pod of that name (UID, spec.nodeName) → decision; the
// pod this node runs under that name has UID "u1" and a ready sandbox.
const cases: [string, Omit<ClaimFacts, 'node' | 'nodeLabel' | 'podUid' | 'hash'>, ClaimDecision][] =
  [
    ['no report: create', { existing: null }, { action: 'create' }],
    [
      'a report as wanted, whoever it claims',
      { existing: stored('node-2', 'want') },
      { action: 'leave', why: 'same' },
    ],
    ["this node's label: update, no Pod read", { existing: stored(HERE) }, update(false)],
    [
      "another node's label: the Pod decides",
      { existing: stored('node-2') },
      { action: 'look-up-pod' },
    ],
    ['no label at all: the Pod decides too', { existing: stored('') }, { action: 'look-up-pod' }],
    [
      'another node claims it, the Pod (same UID) is bound here: take it over',
      { existing: stored('node-2'), pod: pod('u1', HERE) },
      update(true),
    ],
    [
      'a static pod: its mirror Pod names our UID and is bound here',
      { existing: stored('node-2'), pod: pod('mirror-uid', HERE, 'u1') },
      update(true),
    ],
    [
      "a StatefulSet pod moved here: the old Pod's report is still its old node's",
      { existing: stored('node-2', 'old', 'u0'), pod: pod('u1', HERE) },
      { action: 'wait', why: 'previous-pod' },
    ],
    [
      'a StatefulSet pod moved away: the Pod of that name has a new UID on the other node',
      { existing: stored('node-2'), pod: pod('u2', 'node-2') },
      { action: 'leave', why: 'other-node' },
    ],
    [
      'the same UID bound elsewhere (our sandbox is stale)',
      { existing: stored('node-2'), pod: pod('u1', 'node-2') },
      { action: 'leave', why: 'other-node' },
    ],
    [
      'a new Pod of that name bound here but not the one we run',
      { existing: stored('node-2'), pod: pod('u3', HERE) },
      { action: 'leave', why: 'other-node' },
    ],
    [
      'the Pod is gone (force-deleted, sandbox still up)',
      { existing: stored('node-2'), pod: null },
      { action: 'leave', why: 'pod-gone' },
    ],
    [
      'an unscheduled Pod of that name',
      { existing: stored('node-2'), pod: pod('u1', '') },
      { action: 'leave', why: 'other-node' },
    ],
  ];

for (const [name, facts, want] of cases) {
  test(`ownership: ${name}`, () => {
    assert.deepEqual(
      decideClaim({ node: HERE, nodeLabel: HERE, podUid: 'u1', hash: 'want', ...facts }),
      want,
    );
  });
}

test('ownership: a pod whose CRI UID is empty is never taken over', () => {
  assert.deepEqual(
    decideClaim({
      node: HERE,
      nodeLabel: HERE,
      podUid: '',
      hash: 'want',
      existing: stored('node-2'),
      pod: pod('', HERE),
    }),
    { action: 'leave', why: 'other-node' },
  );
});
