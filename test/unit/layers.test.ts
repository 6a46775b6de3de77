import assert from 'node:assert/strict';
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

test('every import under src/ follows the module table of docs/design.md', () => {
  const allowed = allowedImports();
  assert.ok(allowed.size >= 10, 'the table of docs/design.md was not found');
  const broken: string[] = [];
  for (const file of sourceFiles(join(ROOT, 'src'))) {
    const [folder = ''] = relative(join(ROOT, 'src'), file).split('/');
    const may = allowed.get(folder);
    if (!may) {
      broken.push(`src/${folder}: no row in docs/design.md`);
      continue;
    }
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:from|import\()\s*'\.\.\/([a-z0-9]+)\//g)) {
      const target = m[1] ?? '';
      if (target !== folder && !may.has(target))
        broken.push(`${relative(ROOT, file)} imports src/${target}`);
    }
  }
  assert.deepEqual(broken, []);
});

test('the table is the code: each folder row names only folders it imports', () => {
  // A row that allows more than the code uses would let a new arrow in unseen.
  const used = new Map<string, Set<string>>();
  for (const file of sourceFiles(join(ROOT, 'src'))) {
    const [folder = ''] = relative(join(ROOT, 'src'), file).split('/');
    const set = used.get(folder) ?? new Set<string>();
    for (const m of readFileSync(file, 'utf8').matchAll(
      /(?:from|import\()\s*'\.\.\/([a-z0-9]+)\//g,
    ))
      if (m[1] !== folder) set.add(m[1] ?? '');
    used.set(folder, set);
  }
  for (const [folder, may] of allowedImports())
    assert.deepEqual([...may].sort(), [...(used.get(folder) ?? [])].sort(), `src/${folder}`);
});
