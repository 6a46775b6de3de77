import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

/**
 * The module table of docs/design.md is the rule: every import of a file under src/ stays in its
 * folder or goes to a folder its row names. A new folder needs a row.
 */
const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

function allowedImports(): Map<string, Set<string>> {
  const design = readFileSync(join(ROOT, 'docs/design.md'), 'utf8');
  const rows = new Map<string, Set<string>>();
  for (const m of design.matchAll(/^\| `src\/([a-z0-9]+)` +\|[^|]*\|([^|]*)\|$/gm)) {
    const may = [...(m[2] ?? '').matchAll(/`([a-z0-9]+)`/g)].map((x) => x[1] ?? '');
    rows.set(m[1] ?? '', new Set(may));
  }
  return rows;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? sourceFiles(join(dir, e.name))
      : e.name.endsWith('.ts')
        ? [join(dir, e.name)]
        : [],
  );
}

interface CrossImport {
  readonly file: string;
  readonly folder: string;
  readonly target: string;
}

/** Every import under src/ from one folder into another, read once for both tests. */
const crossImports: readonly CrossImport[] = sourceFiles(join(ROOT, 'src')).flatMap((file) => {
  const [folder = ''] = relative(join(ROOT, 'src'), file).split('/');
  return [...readFileSync(file, 'utf8').matchAll(/(?:from|import\()\s*'\.\.\/([a-z0-9]+)\//g)]
    .map((m) => ({ file: relative(ROOT, file), folder, target: m[1] ?? '' }))
    .filter((i) => i.target !== folder);
});

test('every import under src/ follows the module table of docs/design.md', () => {
  const allowed = allowedImports();
  assert.ok(allowed.size >= 10, 'the table of docs/design.md was not found');
  const folders = new Set(
    sourceFiles(join(ROOT, 'src')).map((f) => relative(join(ROOT, 'src'), f).split('/')[0] ?? ''),
  );
  const broken = [...folders]
    .filter((f) => !allowed.has(f))
    .map((f) => `src/${f}: no row in docs/design.md`);
  for (const i of crossImports)
    if (allowed.get(i.folder)?.has(i.target) === false)
      broken.push(`${i.file} imports src/${i.target}`);
  assert.deepEqual(broken, []);
});

test('the table is the code: each folder row names only folders it imports', () => {
  // A row that allows more than the code uses would let a new arrow in unseen.
  for (const [folder, may] of allowedImports()) {
    const used = new Set(crossImports.filter((i) => i.folder === folder).map((i) => i.target));
    assert.deepEqual([...may].sort(), [...used].sort(), `src/${folder}`);
  }
});

test("no module of nsreport loads Node's bundled undici (an ES import of node:http would)", () => {
  // Every module in one fresh process, but those that run as they load (the CLI, its kubectl
  // completion entry and the resolver's child). Node 20's http has no such getters: the Node 24 run of this suite decides.
  const modules = sourceFiles(join(ROOT, 'src'))
    .filter((f) => !f.endsWith('.d.ts'))
    .map((f) => relative(join(ROOT, 'src'), f).replace(/\.ts$/, '.js'))
    .filter(
      (f) => !['cli/main.js', 'cli/kubectl-complete.js', 'collect/resolve-child.js'].includes(f),
    )
    .map((f) => new URL(`../../src/${f}`, import.meta.url).href);
  const out = execFileSync(process.execPath, [
    '--input-type=module',
    '-e',
    `for (const m of ${JSON.stringify(modules)}) await import(m);
     console.log(process.moduleLoadList.filter((m) => m.includes('undici')).join(','));`,
  ]).toString();
  assert.equal(out.trim(), '');
});

/** Node's modules that reach outside the process: files, processes, the network, the terminal. */
const IO =
  /^node:(fs|fs\/promises|child_process|net|http|https|http2|dgram|dns|tls|readline|worker_threads|cluster|os)$/;
/** The files of procfs that read /proc; the others only parse what they are given. */
const PROCFS_READERS = new Set(['src/procfs/reader.ts']);

test('the pure core does no I/O: inspect, report, audit and the parsers of procfs import no I/O module, nor a procfs reader', () => {
  const pure = sourceFiles(join(ROOT, 'src'))
    .map((f) => relative(ROOT, f))
    .filter((f) => /^src\/(inspect|report|audit|procfs)\//.test(f) && !PROCFS_READERS.has(f));
  assert.ok(pure.length >= 20, `${pure.length} pure files`);
  const broken: string[] = [];
  for (const file of pure) {
    const text = readFileSync(join(ROOT, file), 'utf8');
    // A type-only import is erased at build: it reads nothing.
    for (const m of text.matchAll(/^import (type )?[^;]*?from '([^']+)';$/gms)) {
      const spec = m[2] ?? '';
      if (m[1] !== undefined) continue;
      if (IO.test(spec)) broken.push(`${file} imports ${spec}`);
      const reader = file.startsWith('src/procfs/') ? './reader.js' : '../procfs/reader.js';
      if (spec === reader) broken.push(`${file} imports the procfs reader`);
    }
  }
  assert.deepEqual(broken, []);
});
