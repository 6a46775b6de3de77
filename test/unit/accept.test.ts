import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createAudit, reaches } from '../../src/audit/audit.js';
import type { AgentConfig } from '../../src/config/agent.js';
import { parseConfig } from '../../src/config/config.js';
import {
  parseAcceptRules,
  parseAnnotationNamespaces,
  parseSelector,
  type AcceptPolicy,
} from '../../src/inspect/accept.js';
import { inspect } from '../../src/inspect/inspect.js';
import { buildReport } from '../../src/report/report.js';
import { createMetrics } from '../../src/telemetry/metrics.js';
import { HOST_NS, sample, sandbox, snapshot } from './snapshot.js';

/** A hostNetwork static-like pod in kube-system: NSR001 (high) and NSR012-free. */
function controlPlanePod(
  opts: {
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  } = {},
) {
  return snapshot([
    sandbox([sample('apiserver', { ns: { ...HOST_NS, mnt: 9, pid: 103, ipc: 104 } })], {
      name: 'kube-apiserver-n1',
      namespace: opts.namespace ?? 'kube-system',
      network: 'NODE',
      labels: opts.labels ?? { tier: 'control-plane', component: 'kube-apiserver' },
      annotations: opts.annotations ?? {},
    }),
  ]);
}

function policy(rules: string, annotationNamespaces: string[] = []): AcceptPolicy {
  const parsed = parseAcceptRules(rules);
  assert.deepEqual(parsed.problems, []);
  return { rules: parsed.rules, annotationNamespaces };
}

const ADMIN = JSON.stringify([
  {
    finding: 'NSR001',
    namespace: 'kube-system',
    selector: 'tier=control-plane',
    reason: 'control plane runs on the host network',
  },
]);

test("the admin's rule accepts a finding: it stays, marked; severity, label, metric and --fail-on drop", () => {
  const [pod] = inspect(controlPlanePod(), policy(ADMIN));
  assert.deepEqual(pod?.findings, [
    {
      id: 'NSR001',
      severity: 'high',
      message: "pod shares the host's network namespace (hostNetwork)",
      accepted: { reason: 'control plane runs on the host network', source: 'config' },
    },
  ]);
  const r = buildReport(pod, null);
  assert.equal(r.report.summary.highestSeverity, 'none');
  assert.equal(r.report.summary.findings, 0);
  assert.equal(r.report.summary.accepted, 1);
  assert.equal(r.metadata.labels['nsreport.dev/severity'], 'none');
  assert.equal(r.metadata.labels['nsreport.dev/host-network'], 'true', 'the facts stay');

  const m = createMetrics();
  m.observeInventory([pod]);
  return m.registry.metrics().then((text) => {
    assert.doesNotMatch(text, /^nsreport_findings\{/m);
    assert.match(
      text,
      /^nsreport_findings_accepted\{id="NSR001",severity="high",source="config"\} 1$/m,
    );

    const audit = createAudit({ findings: [] });
    audit.add(r);
    const result = audit.result({
      checked: false,
      nodesWithoutReports: [],
      podsWithoutReport: [],
      reportsWithoutPod: [],
      hostNetworkPodsWithoutReport: [],
      hostNetworkDisagreements: [],
    });
    assert.equal(result.summary.accepted, 1);
    assert.equal(result.summary.findingsBySeverity.high, 0);
    assert.equal(reaches(result, 'low'), false);
    const all = createAudit({ findings: [], includeAccepted: true });
    all.add(r);
    const shown = all.result({
      checked: false,
      nodesWithoutReports: [],
      podsWithoutReport: [],
      reportsWithoutPod: [],
      hostNetworkPodsWithoutReport: [],
      hostNetworkDisagreements: [],
    });
    assert.equal(shown.summary.findingsBySeverity.high, 1);
    assert.equal(reaches(shown, 'high'), true, '--include-accepted: counted again');
  });
});

test("the admin's rule is scoped: other namespace, other labels, other finding → not accepted", () => {
  const cases = [
    controlPlanePod({ namespace: 'shop' }),
    controlPlanePod({ labels: { tier: 'node' } }),
    controlPlanePod({ labels: {} }),
  ];
  for (const snap of cases) {
    const [pod] = inspect(snap, policy(ADMIN));
    assert.equal(pod?.findings[0]?.accepted, undefined);
    assert.equal(buildReport(pod!, null).report.summary.highestSeverity, 'high');
  }
  const [other] = inspect(
    controlPlanePod(),
    policy(JSON.stringify([{ finding: 'NSR008', namespace: '*', reason: 'r' }])),
  );
  assert.equal(other?.findings[0]?.accepted, undefined);
});

test('a pod annotating itself: honoured only in namespaces the admin lists, with a reason', () => {
  const annotations = {
    'nsreport.dev/accept': 'NSR001, nsr999',
    'nsreport.dev/accept-reason': 'we need the node network',
  };
  // Not listed (the default): not accepted, and the report says why.
  const [denied] = inspect(controlPlanePod({ namespace: 'shop', annotations }), policy('[]'));
  assert.equal(denied?.findings[0]?.accepted, undefined);
  assert.match(denied?.warnings?.[0] ?? '', /not accept findings in namespace "shop"/);
  const report = buildReport(denied!, null);
  assert.equal(report.metadata.labels['nsreport.dev/severity'], 'high');
  assert.equal(report.report.warnings?.length, 1);
  // Listed: accepted from the annotation; the unknown id is a warning.
  const [allowed] = inspect(
    controlPlanePod({ namespace: 'infra', annotations }),
    policy('[]', ['infra']),
  );
  assert.deepEqual(allowed?.findings[0]?.accepted, {
    reason: 'we need the node network',
    source: 'annotation',
  });
  assert.deepEqual(allowed?.warnings, ['nsreport.dev/accept: "NSR999" is not a finding id']);
  // '*' allows every namespace; a missing reason accepts nothing.
  const [noReason] = inspect(
    controlPlanePod({ namespace: 'infra', annotations: { 'nsreport.dev/accept': 'NSR001' } }),
    policy('[]', ['*']),
  );
  assert.equal(noReason?.findings[0]?.accepted, undefined);
  assert.match(noReason?.warnings?.[0] ?? '', /accept-reason is missing/);
  // The admin's rule wins over the annotation.
  const [both] = inspect(controlPlanePod({ annotations }), policy(ADMIN, ['kube-system']));
  assert.equal(both?.findings[0]?.accepted?.source, 'config');
});

test('bad acceptance settings: each problem said, the entry dropped, the rest applied', () => {
  const { rules, problems } = parseAcceptRules(
    JSON.stringify([
      { finding: 'NSR001', namespace: 'kube-system', reason: 'ok' },
      { finding: 'NSR1', namespace: 'kube-system', reason: 'r' },
      { finding: 'NSR002', namespace: 'Kube_System', reason: 'r' },
      { finding: 'NSR002', namespace: 'a' },
      { finding: 'NSR002', namespace: 'a', reason: 'r', selector: 'a in (b' },
      { finding: 'NSR002', namespace: 'a', reason: 'r', pods: 'x' },
      'NSR003',
      { finding: 'NSR004,NSR005', namespace: '*', reason: 'two ids' },
    ]),
  );
  assert.deepEqual(
    rules.map((r) => [r.finding, r.namespace]),
    [
      ['NSR001', 'kube-system'],
      ['NSR004', '*'],
      ['NSR005', '*'],
    ],
  );
  assert.deepEqual(problems, [
    'entry 2: "NSR1" is not a finding id (NSR001…)',
    'entry 3: "namespace" must be a namespace or "*" (got "Kube_System")',
    'entry 4: "reason" is required',
    'entry 5: selector "a in (b" is not a label selector (e.g. tier=control-plane,app in (a,b))',
    'entry 6: unknown field(s) pods',
    'entry 7: not an object',
  ]);
  assert.match(parseAcceptRules('{').problems[0] ?? '', /^not JSON .*nothing accepted$/);
  assert.deepEqual(parseAcceptRules('{}').problems, ['not a JSON list: nothing accepted']);
  assert.deepEqual(parseAnnotationNamespaces(' infra, *,Bad_NS ,').problems, [
    '"Bad_NS" is not a namespace',
  ]);
});

test('bad flags never stop the agent: the problems are carried to its log', () => {
  const c = parseConfig(
    [
      'agent',
      '--node-name',
      'n1',
      '--accept',
      '[{"finding":"X"}]',
      '--accept-annotations-in',
      'infra',
    ],
    {},
  ) as AgentConfig;
  assert.deepEqual(c.accept.policy.rules, []);
  assert.deepEqual(c.accept.policy.annotationNamespaces, ['infra']);
  assert.equal(c.accept.problems.length, 3);
  assert.ok(c.accept.problems.every((p) => p.startsWith('--accept: entry 1:')));
  const fromEnv = parseConfig(['agent'], {
    NODE_NAME: 'n1',
    NSREPORT_ACCEPT: ADMIN,
    NSREPORT_ACCEPT_ANNOTATIONS_IN: '',
  }) as AgentConfig;
  assert.equal(fromEnv.accept.policy.rules.length, 1);
  assert.deepEqual(fromEnv.accept.policy.annotationNamespaces, []);
});

test('label selectors: the Kubernetes grammar', () => {
  const match = (sel: string, labels: Record<string, string>): boolean => {
    const reqs = parseSelector(sel);
    assert.ok(Array.isArray(reqs), `${sel}: ${typeof reqs === 'string' ? reqs : ''}`);
    const [pod] = inspect(
      controlPlanePod({ labels }),
      policy(JSON.stringify([{ finding: 'NSR001', namespace: '*', selector: sel, reason: 'r' }])),
    );
    return pod?.findings[0]?.accepted !== undefined;
  };
  const labels = { tier: 'control-plane', 'app.kubernetes.io/name': 'etcd' };
  assert.equal(match('', labels), true);
  assert.equal(match('tier=control-plane', labels), true);
  assert.equal(match('tier==control-plane,app.kubernetes.io/name=etcd', labels), true);
  assert.equal(match('tier!=control-plane', labels), false);
  assert.equal(match('tier in (node, control-plane)', labels), true);
  assert.equal(match('tier notin (control-plane)', labels), false);
  assert.equal(match('app.kubernetes.io/name', labels), true);
  assert.equal(match('!canary', labels), true);
  assert.equal(match('!tier', labels), false);
  assert.equal(match('tier=', { tier: '' }), true);
  for (const bad of ['tier=a b', '=x', 'tier in a,b', 'a,', 'a in (b,c', '&x'])
    assert.equal(typeof parseSelector(bad), 'string', bad);
});

test("the agent's own findings: exactly its pod (by UID, not labels) and exactly the CRI socket's directory, read-only", () => {
  const mount = (hostPath: string, readOnly: boolean) => ({
    containerPath: hostPath,
    hostPath,
    readOnly,
    propagation: 'None' as const,
  });
  const agentPod = (uid: string, name: string) =>
    sandbox(
      [
        sample('agent', {
          sandboxId: `sb-${name}`,
          ns: { ...HOST_NS, net: 201, mnt: 202, ipc: 204, uts: 205 },
          mounts: [mount('/run/containerd', true), mount('/', false), mount('/run/crio', true)],
        }),
      ],
      {
        name,
        id: `sb-${name}`,
        uid,
        namespace: 'nsreport',
        labels: { 'app.kubernetes.io/name': 'nsreport', 'app.kubernetes.io/instance': 'nsreport' },
      },
    );
  const own = policy(
    JSON.stringify([
      { finding: 'NSR002', namespace: 'nsreport', pod: 'a1b2-c3', reason: 'hostPID' },
      {
        finding: 'NSR007',
        namespace: 'nsreport',
        pod: 'a1b2-c3',
        hostPath: '/run/containerd/',
        readOnly: true,
        reason: 'the socket directory',
      },
    ]),
  );
  const pods = inspect(
    snapshot([agentPod('a1b2-c3', 'nsreport-abcde'), agentPod('ffff-0000', 'impostor')]),
    own,
  );
  const accepted = (name: string): string[] =>
    (pods.find((p) => p.pod.name === name)?.findings ?? [])
      .filter((f) => f.accepted)
      .map((f) => `${f.id} ${f.message}`);
  assert.deepEqual(
    accepted('nsreport-abcde'),
    [
      "NSR002 pod shares the host's pid namespace (hostPID)",
      '/run/containerd: sensitive host path /run/containerd (read-only)',
    ].map((m, i) => (i === 0 ? m : `NSR007 ${m}`)),
  );
  // The same labels in the same namespace accept nothing; `/` and another socket dir stay.
  assert.deepEqual(accepted('impostor'), []);
  const mine = pods.find((p) => p.pod.name === 'nsreport-abcde');
  assert.deepEqual(
    mine?.findings.filter((f) => f.id === 'NSR007' && !f.accepted).map((f) => f.message),
    ['/: sensitive host path /', '/run/crio: sensitive host path /run/crio (read-only)'],
  );
  // A writable mount of the same directory is not what was accepted.
  const [writable] = inspect(
    snapshot([
      sandbox([sample('agent', { mounts: [mount('/run/containerd', false)] })], {
        uid: 'a1b2-c3',
        namespace: 'nsreport',
      }),
    ]),
    own,
  );
  assert.equal(writable?.findings.find((f) => f.id === 'NSR007')?.accepted, undefined);
  assert.deepEqual(
    parseAcceptRules(
      JSON.stringify([
        {
          finding: 'NSR007',
          namespace: 'a',
          reason: 'r',
          pod: 'Not A UID',
          hostPath: 'run',
          readOnly: 'yes',
        },
        { finding: 'NSR007', namespace: 'a', reason: 'r', readOnly: true },
      ]),
    ).problems,
    [
      'entry 1: "pod" must be a pod UID (got "Not A UID")',
      'entry 1: "hostPath" must be an absolute path (got "run")',
      'entry 1: "readOnly" must be true or false',
      'entry 2: "readOnly" needs a "hostPath"',
    ],
  );
});
