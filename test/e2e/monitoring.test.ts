import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parse, stringify } from 'yaml';
import { HELM as helm, ROOT as root } from '../env.js';

/**
 * The chart's alerts, proven with Prometheus' own tool: the PrometheusRule rendered by helm is
 * valid for `promtool check rules`, and `promtool test rules` fires each alert on synthetic
 * series that should fire it and stays silent on those that should not
 * (test/monitoring/alerts.test.yaml).
 */
const chart = join(root, 'charts/nsreport');
let work: string;

before(() => {
  work = mkdtempSync(join(tmpdir(), 'nsreport-monitoring-'));
});

after(() => {
  rmSync(work, { recursive: true, force: true });
});

/** The rule groups of the chart's PrometheusRule, as a Prometheus rule file. */
function renderedRules(): string {
  const out = execFileSync(
    helm,
    [
      ...['template', 'nsreport', chart, '--namespace', 'nsreport'],
      ...['--set', 'prometheusRule.enabled=true', '--set', 'prometheusRule.force=true'],
      ...['--show-only', 'templates/prometheusrule.yaml'],
    ],
    { encoding: 'utf8' },
  );
  const rule = parse(out) as { kind: string; spec: { groups: unknown[] } };
  assert.equal(rule.kind, 'PrometheusRule');
  const file = join(work, 'rules.yaml');
  writeFileSync(file, stringify({ groups: rule.spec.groups }));
  return file;
}

test('the PrometheusRule passes promtool check rules', () => {
  const r = spawnSync('promtool', ['check', 'rules', renderedRules()], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout + r.stderr, /SUCCESS: 10 rules found/);
});

test('promtool test rules: every alert fires on its condition and not otherwise', () => {
  const rules = renderedRules();
  const tests = readFileSync(join(root, 'test/monitoring/alerts.test.yaml'), 'utf8').replace(
    'rule_files: [RULES]',
    `rule_files: [${JSON.stringify(rules)}]`,
  );
  const file = join(work, 'alerts.test.yaml');
  writeFileSync(file, tests);
  const r = spawnSync('promtool', ['test', 'rules', file], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  // Every alert of the rule file has a test.
  const alerts = (
    parse(readFileSync(rules, 'utf8')) as { groups: { rules: { alert: string }[] }[] }
  ).groups.flatMap((g) => g.rules.map((x) => x.alert));
  for (const a of alerts) assert.match(tests, new RegExp(`alertname: ${a}\\b`), a);
});
