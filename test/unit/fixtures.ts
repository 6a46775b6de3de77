import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { mkdtemp, mkdir, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';

/** Text of a captured fixture under test/fixtures (tests run from dist/test/unit). */
export function fixture(name: string): string {
  return readFileSync(
    fileURLToPath(new URL(`../../../test/fixtures/${name}`, import.meta.url)),
    'utf8',
  );
}

export interface FakeProcess {
  readonly ns?: Partial<Record<string, number>>;
  readonly mountinfo?: string;
  readonly net?: Partial<Record<string, string>>;
  /** fd number → link target, e.g. `socket:[17416]`. */
  readonly fds?: Record<string, string>;
  readonly comm?: string;
  /** Field 22 of /proc/<pid>/stat, ticks since boot (the tree's boot time is BOOT_TIME_S). */
  readonly startTicks?: number;
  /** /proc/<pid>/cgroup text (default: the root of a v2 hierarchy). */
  readonly cgroup?: string;
  /** /proc/<pid>/status text (default: root, in group 0 only). */
  readonly status?: string;
  readonly uidMap?: string;
  readonly gidMap?: string;
}

/** `btime` of every fake tree's /proc/stat: 2026-12-01T00:00:00Z. */
export const BOOT_TIME_S = 1_796_083_200;

/** All fake trees of this test process live under one directory, removed when it exits. */
const scratch = mkdtempSync(join(tmpdir(), 'nsreport-unit-'));
process.on('exit', () => {
  rmSync(scratch, { recursive: true, force: true });
});

/** A procfs-shaped tree in a temp dir; readers take it as procRoot. */
export async function fakeProc(processes: Record<number, FakeProcess>): Promise<string> {
  const root = await mkdtemp(join(scratch, 'proc-'));
  for (const [pid, p] of Object.entries(processes)) {
    const dir = join(root, pid);
    await mkdir(join(dir, 'ns'), { recursive: true });
    for (const [type, inode] of Object.entries(p.ns ?? {})) {
      await symlink(`${type}:[${inode}]`, join(dir, 'ns', type));
    }
    if (p.mountinfo !== undefined) await writeFile(join(dir, 'mountinfo'), p.mountinfo);
    if (p.net) {
      await mkdir(join(dir, 'net'));
      for (const [f, text] of Object.entries(p.net))
        await writeFile(join(dir, 'net', f), text ?? '');
    }
    await mkdir(join(dir, 'fd'));
    for (const [fd, target] of Object.entries(p.fds ?? {}))
      await symlink(target, join(dir, 'fd', fd));
    await writeFile(join(dir, 'comm'), `${p.comm ?? 'proc'}\n`);
    // The process name may hold spaces and parentheses: the parser counts fields after the last.
    const comm = p.comm ?? 'proc';
    await writeFile(
      join(dir, 'stat'),
      `${pid} (${comm}) S 1 1 1 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 ${p.startTicks ?? 0} 1 1\n`,
    );
    await writeFile(join(dir, 'cgroup'), p.cgroup ?? '0::/\n');
    await writeFile(
      join(dir, 'status'),
      p.status ?? `Name:\t${comm}\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nGroups:\t0 \n`,
    );
    const hostMap = '         0          0 4294967295\n';
    await writeFile(join(dir, 'uid_map'), p.uidMap ?? hostMap);
    await writeFile(join(dir, 'gid_map'), p.gidMap ?? hostMap);
  }
  await writeFile(join(root, 'stat'), `cpu  1 2 3 4\nbtime ${BOOT_TIME_S}\nprocesses 9\n`);
  return root;
}

/** The captured network files of a namespace (`pod` or `host`). */
export function netFixture(which: 'pod' | 'host'): Record<string, string> {
  const files = ['dev', 'fib_trie', 'route', 'if_inet6', 'tcp', 'tcp6', 'udp', 'udp6'];
  return Object.fromEntries(files.map((f) => [f, fixture(`proc/${which}-net-${f}`)]));
}

/**
 * A captured file as a broken kernel, a truncated read or a hostile runtime could give it: cut
 * anywhere, a stretch replaced by arbitrary text (binary included), lines dropped or repeated.
 */
export function mutated(text: string): fc.Arbitrary<string> {
  const at = fc.nat({ max: text.length });
  const junk = fc.oneof(
    fc.string({ maxLength: 40 }),
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.constantFrom('\n', ' ', '\t', '-', ':', '[', ']', '\\', '99999999999999999999', ''),
  );
  const lines = text.split('\n');
  return fc.oneof(
    at.map((n) => text.slice(0, n)),
    fc
      .tuple(at, at, junk)
      .map(([a, b, s]) => text.slice(0, Math.min(a, b)) + s + text.slice(Math.max(a, b))),
    fc
      .array(fc.nat({ max: Math.max(lines.length - 1, 0) }), { maxLength: 6 })
      .map((drop) => lines.filter((_, i) => !drop.includes(i)).join('\n')),
    fc
      .nat({ max: Math.max(lines.length - 1, 0) })
      .map((i) => [...lines.slice(0, i + 1), ...lines.slice(i)].join('\n')),
  );
}
