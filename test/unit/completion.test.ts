import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { FILES, NO_FILES, answer, complete, type NameSource } from '../../src/cli/completion.js';
import { NSREPORT, nsreport } from '../nsreport.js';

const SOURCE: NameSource = {
  namespaces: () => Promise.resolve(['default', 'kube-system', 'shop']),
  reports: (ns) =>
    Promise.resolve(
      ['shop/web-0', 'shop/web-1', 'kube-system/kube-proxy-x'].filter(
        (r) => ns === null || r.startsWith(`${ns}/`),
      ),
    ),
};

const words = async (...w: string[]): Promise<readonly string[]> =>
  (await complete(w, SOURCE)).candidates;

test('completion: commands, flags, the values of a flag, files only where a file is asked', async () => {
  assert.deepEqual(await words('d'), ['describe']);
  assert.ok((await words('')).includes('completion'));
  assert.deepEqual(await words('help', 'au'), ['audit']);
  assert.deepEqual(await words('audit', '--fa'), ['--fail-on']);
  assert.deepEqual(await words('audit', '-o', ''), ['table', 'wide', 'json', 'csv']);
  assert.deepEqual(await words('audit', '--fail-on', 'c'), ['critical']);
  assert.deepEqual(await words('scan', '-o', 'y'), ['yaml']);
  assert.deepEqual(await words('netns', ''), ['link', 'unlink']);
  assert.deepEqual(await words('netns', 'link', ''), []);
  assert.deepEqual(await words('completion', 'z'), ['zsh']);
  assert.deepEqual(await words('nope', ''), []);
  assert.equal((await complete(['audit', '--kubeconfig', ''], SOURCE)).directive, FILES);
  assert.equal((await complete(['audit', ''], SOURCE)).directive, NO_FILES);
  assert.equal(answer({ candidates: ['a', 'b'], directive: 4 }), 'a\nb\n:4\n');
});

test("completion: describe's pod from the cluster in each form, namespaces for -n", async () => {
  assert.deepEqual(await words('describe', ''), ['default/', 'kube-system/', 'shop/']);
  assert.deepEqual(await words('describe', 'shop/'), ['shop/web-0', 'shop/web-1']);
  assert.deepEqual(await words('describe', '-n', 'shop', 'web-1'), ['web-1']);
  assert.deepEqual(await words('describe', '--namespace=shop', 'pod/'), ['pod/web-0', 'pod/web-1']);
  assert.deepEqual(await words('describe', '-n', 'k'), ['kube-system']);
  assert.deepEqual(await words('audit', '--namespace', 'sh'), ['shop']);
});

test('completion: no kubeconfig, or a cluster that is not there, completes nothing and says nothing', () => {
  const r = nsreport(['__complete', 'describe', '--kubeconfig', '/nonexistent', ''], {
    env: { HOME: '/nonexistent' },
  });
  assert.equal(r.code, 0);
  assert.equal(r.stdout, ':4\n');
  assert.equal(r.stderr, '');
  const bad = nsreport(['completion', 'tcsh']);
  assert.equal(bad.code, 2);
  assert.equal(bad.stderr, 'nsreport: completion: which shell? (bash, zsh, fish; got "tcsh")\n');
});

test('completion bash: the script completes in a real bash, through nsreport __complete', () => {
  const bin = mkdtempSync(join(tmpdir(), 'nsr-complete-'));
  try {
    writeFileSync(join(bin, 'nsreport'), `#!/bin/sh\nexec ${process.execPath} ${NSREPORT} "$@"\n`);
    chmodSync(join(bin, 'nsreport'), 0o755);
    const script = nsreport(['completion', 'bash']).stdout;
    const reply = (...line: string[]): string[] =>
      execFileSync(
        'bash',
        [
          '-c',
          `${script}\nCOMP_WORDS=(${line.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${line.length - 1}; _nsreport; printf '%s\\n' "\${COMPREPLY[@]}"`,
        ],
        { encoding: 'utf8', env: { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` } },
      )
        .split('\n')
        .filter(Boolean);
    assert.deepEqual(reply('nsreport', 'au'), ['audit']);
    assert.deepEqual(reply('nsreport', 'audit', '-o', 'j'), ['json']);
    assert.deepEqual(reply('nsreport', 'scan', '--pr'), ['--proc-root']);
    assert.ok(reply('nsreport', 'audit', '--kubeconfig', bin.slice(0, -2)).includes(bin), 'files');
  } finally {
    rmSync(bin, { recursive: true });
  }
});
