import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import {
  REFERENCE_PATH,
  formatted,
  readSources,
  renderReference,
} from '../../scripts/reference.js';

test('docs/reference.md is what the code says (flags, env, exit codes, metrics, CRD fields)', async () => {
  const want = await formatted(renderReference(readSources()));
  const have = readFileSync(REFERENCE_PATH, 'utf8');
  assert.ok(have === want, 'docs/reference.md is out of date: run npm run docs');
});

test('every flag of every command, every metric and every report field is in it', () => {
  const text = readFileSync(REFERENCE_PATH, 'utf8');
  for (const needle of [
    '`--accept-annotations-in VALUE`',
    '`NSREPORT_METRICS_ADDR`',
    '`nsreport_report_watch_restarts_total`',
    '`report.containers[].mounts[].observedPropagation`',
    '`nsreport.dev/severity`',
    '[NSR012](findings.md#nsr012-root-in-the-host-user-namespace)',
  ])
    assert.ok(text.includes(needle), needle);
});
