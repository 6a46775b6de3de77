import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { STATE_DIR } from '../../src/config/netns.js';
import { findExecutable } from '../../src/netns/tools.js';
import { runNsreport } from '../nsreport.js';
import { podOf, startFakeCri, type FakeCri } from './fake-cri.js';
import { NETNS_CASES, type NetnsCase } from './netns-cases.js';

/**
 * Every row of netns-cases.ts through the CLI as its own process, against a fake CRI runtime in
 * this process: the exit code, the one line, no stack trace, and nothing left behind (no mount,
 * no name, no record).
 */
const scratch = mkdtempSync(join(tmpdir(), 'nsreport-netns-cases-'));
const isRoot = process.getuid?.() === 0;
let cri: FakeCri;
let sleeper: ChildProcess | undefined;
const sleeperPid = (): number => sleeper?.pid ?? 0;
// Also when the file dies before its hooks run: nothing of this file outlives it.
process.on('exit', () => {
  sleeper?.kill('SIGKILL');
  rmSync(scratch, { recursive: true, force: true });
});

before(async () => {
  cri = await startFakeCri(join(scratch, 'cri.sock'));
  sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 100));
});

after(() => {
  sleeper?.kill('SIGKILL');
  cri.close();
  rmSync(scratch, { recursive: true, force: true });
});

function serve(c: NetnsCase): void {
  const pid = sleeperPid();
  cri.failWith =
    c.cri === 'denied' ? { code: grpc.status.PERMISSION_DENIED, details: 'not you' } : null;
  const pods = {
    running: [podOf(pid)],
    exited: [podOf(pid, { state: 'exited' })],
    stale: [podOf(pid, { createdLaterMs: 60_000 })],
    none: [],
    denied: [],
  };
  cri.pods = c.cri ? pods[c.cri] : [];
}

function makeFiles(c: NetnsCase, tmp: string): void {
  writeFileSync(join(tmp, 'file'), 'not a directory');
  if (c.files === 'foreign-name') {
    mkdirSync(join(tmp, 'netns'));
    writeFileSync(join(tmp, 'netns', 'shop_web'), 'someone else');
  }
  if (c.files === 'readonly-dir') mkdirSync(join(tmp, 'ro'), { mode: 0o555 });
  if (c.files === 'mount-only') {
    mkdirSync(join(tmp, 'bin'));
    symlinkSync(
      findExecutable('mount', ['/usr/bin', '/bin']) ?? '/usr/bin/mount',
      join(tmp, 'bin', 'mount'),
    );
  }
}

const fill = (s: string, tmp: string): string =>
  s
    .replaceAll('{tmp}', tmp)
    .replaceAll('{file}', join(tmp, 'file'))
    .replaceAll('{cri}', cri.socket);

let n = 0;
for (const c of NETNS_CASES) {
  test(`bad input: ${c.name}`, { skip: c.root && !isRoot ? 'needs root' : false }, async () => {
    const tmp = join(scratch, `case-${n++}`);
    mkdirSync(tmp);
    serve(c);
    makeFiles(c, tmp);
    const env = Object.fromEntries(Object.entries(c.env ?? {}).map(([k, v]) => [k, fill(v, tmp)]));
    const r = await runNsreport(
      c.args.map((a) => fill(a, tmp)),
      { env, ...(c.wrap ? { wrap: c.wrap } : {}), timeoutMs: 15_000 },
    );
    assert.equal(r.code, c.exit, `${r.stdout}${r.stderr}`);
    if (c.stderr) assert.match(r.stderr, c.stderr);
    else assert.equal(r.stderr, '');
    if (c.stdout) assert.match(r.stdout, c.stdout);
    assert.doesNotMatch(r.stderr, /\n\s+at |unexpected error/);
    if (c.files === 'foreign-name')
      assert.equal(readFileSync(join(tmp, 'netns', 'shop_web'), 'utf8'), 'someone else');
    assert.ok(!readFileSync('/proc/self/mountinfo', 'utf8').includes(tmp), 'a mount left behind');
    assert.ok(!existsSync(join(STATE_DIR, 'netns', tmp)), 'a record left behind');
    if (existsSync(join(tmp, 'netns')) && c.files !== 'foreign-name')
      assert.equal(existsSync(join(tmp, 'netns', 'shop_web')), false, 'a name left behind');
  });
}
