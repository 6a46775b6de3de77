import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { NamespaceReport } from '../../src/report/types.js';
import { CLUSTER, LAB, NODE, ROOT } from '../env.js';
import { applyObjects } from '../lab/kube.js';
import { NSREPORT, nsreport } from '../nsreport.js';
import { labScanArgs } from './agent-process.js';

/**
 * nsreport as a kubectl plugin: installed by krew itself (built from the Go module proxy,
 * scripts/build-krew.sh) from the manifest and archive scripts/krew-archive.sh makes, run
 * through the real kubectl, and completed by kubectl (kubectl_complete-nsreport), bash, zsh and
 * fish against the real API server.
 */
const { kubeconfig } = CLUSTER;
const work = mkdtempSync(join(tmpdir(), 'nsr-plugin-'));
const krewRoot = join(work, 'krew');
let env: NodeJS.ProcessEnv;

before(() => {
  assert.ok(kubeconfig && LAB.socket, 'run through test/e2e/run.sh');
  // A report of each lab pod, as the agent would write it, for the names completion offers.
  const r = nsreport(labScanArgs(LAB.socket, '--node-name', NODE));
  assert.equal(r.code, 0, r.stderr);
  const items = (JSON.parse(r.stdout) as { items: NamespaceReport[] }).items;
  applyObjects(kubeconfig, items);
});

after(() => {
  rmSync(work, { recursive: true, force: true });
});

const run = (cmd: string, args: string[], e = env): string =>
  execFileSync(cmd, args, { encoding: 'utf8', env: e, stdio: ['ignore', 'pipe', 'pipe'] });

test('krew installs the plugin from its manifest and archive; kubectl runs it; its caveat links the completion helper', () => {
  const krew = run('bash', [join(ROOT, 'scripts/build-krew.sh')], process.env).trim();
  const archive = run('bash', [join(ROOT, 'scripts/krew-archive.sh'), work], process.env).trim();
  env = {
    ...process.env,
    KREW_ROOT: krewRoot,
    KUBECONFIG: kubeconfig,
    PATH: `${join(krewRoot, 'bin')}:${process.env.PATH ?? ''}`,
  };
  // krew validates the manifest (schema, sha256 of the archive) before it installs.
  const install = spawnSync(
    krew,
    ['install', `--manifest=${join(work, 'nsreport.yaml')}`, `--archive=${archive}`],
    { encoding: 'utf8', env, input: '' },
  );
  assert.equal(install.status, 0, install.stderr);
  assert.match(install.stderr, /Installed plugin: nsreport/);
  assert.match(run('kubectl', ['plugin', 'list']), /kubectl-nsreport$/m);
  assert.match(run('kubectl', ['nsreport', 'version', '--client']), /^nsreport \d+\.\d+\.\d+$/m);
  // A manifest whose archive is another is refused.
  writeFileSync(join(work, 'other.tar.gz'), 'not the archive');
  const refused = spawnSync(
    krew,
    [
      'install',
      `--manifest=${join(work, 'nsreport.yaml')}`,
      `--archive=${join(work, 'other.tar.gz')}`,
    ],
    { encoding: 'utf8', env: { ...env, KREW_ROOT: join(work, 'krew2') }, input: '' },
  );
  assert.notEqual(refused.status, 0);
  assert.match(refused.stderr, /checksum/i);
  // The caveat's command, as a user pastes it.
  const lines = `${install.stdout}\n${install.stderr}`
    .split('\n')
    .map((l) => l.replace(/^[ |]*/, ''));
  const at = lines.findIndex((l) => l.startsWith('ln -s '));
  assert.ok(at >= 0, 'the caveat names the completion helper');
  run('sh', ['-c', `${(lines[at] ?? '').replace(/\\$/, '')} ${lines[at + 1] ?? ''}`]);
  assert.equal(
    run('sh', ['-c', 'command -v kubectl_complete-nsreport']).trim(),
    join(krewRoot, 'bin', 'kubectl_complete-nsreport'),
  );
});

test('kubectl completes kubectl nsreport: commands, flags, namespaces and pods from the cluster', () => {
  assert.ok(env, 'the krew test ran');
  const complete = (...words: string[]): string[] =>
    run('kubectl', ['__complete', 'nsreport', ...words])
      .split('\n')
      .filter(Boolean);
  assert.deepEqual(complete('desc'), ['describe', ':4']);
  assert.ok(complete('audit', '--fail').includes('--fail-on'));
  assert.ok(complete('describe', '-n', 'nsr-').includes('nsr-lab'));
  assert.ok(complete('describe', 'nsr-lab/bi').includes('nsr-lab/bidir'));
  assert.deepEqual(complete('describe', '-n', 'nsr-lab', 'pod/hostn'), ['pod/hostnet', ':4']);
});

test('nsreport completion bash, zsh, fish: each shell completes through nsreport __complete', () => {
  const bin = join(work, 'bin');
  execFileSync('mkdir', ['-p', bin]);
  writeFileSync(join(bin, 'nsreport'), `#!/bin/sh\nexec ${process.execPath} ${NSREPORT} "$@"\n`);
  chmodSync(join(bin, 'nsreport'), 0o755);
  const shellEnv = {
    ...process.env,
    KUBECONFIG: kubeconfig,
    PATH: `${bin}:${process.env.PATH ?? ''}`,
  };
  const script = (shell: string): string => nsreport(['completion', shell]).stdout;
  const bash = run(
    'bash',
    [
      '-c',
      `${script('bash')}\nCOMP_WORDS=(nsreport describe nsr-lab/bi); COMP_CWORD=2; _nsreport; printf '%s\\n' "\${COMPREPLY[@]}"`,
    ],
    shellEnv,
  );
  assert.deepEqual(bash.split('\n').filter(Boolean), ['nsr-lab/bidir']);
  // zsh: its completion function with compadd shown (a completion widget needs a terminal).
  const zsh = run(
    'zsh',
    [
      '-c',
      `compadd() { print -l -- "\${@[$(( \${@[(i)--]} + 1 )),-1]}"; }; compdef() { :; }
${script('zsh')}
words=(nsreport describe nsr-lab/bi); CURRENT=3; _nsreport`,
    ],
    shellEnv,
  );
  assert.deepEqual(zsh.split('\n').filter(Boolean), ['nsr-lab/bidir']);
  // fish: `complete -C` completes a command line as the prompt would.
  const fish = run(
    'fish',
    ['-c', `${script('fish')}\ncomplete -C "nsreport describe nsr-lab/bi"`],
    shellEnv,
  );
  assert.deepEqual(fish.split('\n').filter(Boolean), ['nsr-lab/bidir']);
  const fishNs = run(
    'fish',
    ['-c', `${script('fish')}\ncomplete -C "nsreport audit -n nsr-"`],
    shellEnv,
  );
  assert.ok(fishNs.split('\n').includes('nsr-lab'), fishNs);
});
