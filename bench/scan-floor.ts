/**
 * The floor of a scan: the CRI calls and /proc reads one cold `nsreport scan` makes, recorded,
 * then made again by the simplest client there is in Node (grpc-js with the generated codec, each
 * answer decoded and dropped; each file read and dropped): no parsing, no inspection, no report.
 * bench/scan.ts prints how close the scan comes to it, in process and as a process.
 *
 *   node dist/bench/scan-floor.js RECORDED.json   (the floor as a process: bench/scan.ts runs it)
 */
import { readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { fileURLToPath } from 'node:url';
import { connectCri, type CriConnection } from '../src/cri/client.js';

type FsOp = 'readFile' | 'readdir' | 'readlink' | 'stat';

export interface Recorded {
  readonly socket: string;
  readonly calls: { method: string; req: object }[];
  readonly fs: { op: FsOp; path: string }[];
}

const READ: Record<FsOp, (path: string) => unknown> = {
  readFile: (p) => readFileSync(p),
  readdir: (p) => readdirSync(p),
  readlink: (p) => readlinkSync(p),
  stat: (p) => statSync(p),
};

/**
 * Records every file the scanner reads (src/procfs/reader.ts and the scanner's statSync) while
 * `during` runs: node:fs's functions are wrapped and the ES modules' bindings synced to them.
 */
export async function recordingFs<T>(into: Recorded['fs'], during: () => Promise<T>): Promise<T> {
  const names = {
    readFile: 'readFileSync',
    readdir: 'readdirSync',
    readlink: 'readlinkSync',
    stat: 'statSync',
  } as const;
  const f = fs as unknown as Record<string, (...a: unknown[]) => unknown>;
  const saved = Object.fromEntries(Object.values(names).map((n) => [n, f[n]]));
  for (const [op, name] of Object.entries(names) as [FsOp, string][]) {
    const real = saved[name] as (...a: unknown[]) => unknown;
    f[name] = (...a: unknown[]) => {
      if (typeof a[0] === 'string') into.push({ op, path: a[0] });
      return real(...a);
    };
  }
  syncBuiltinESMExports();
  try {
    return await during();
  } finally {
    Object.assign(f, saved);
    syncBuiltinESMExports();
  }
}

/**
 * The recorded calls made again on `conn`: the listings at once, then every status at once (as
 * fast as a client can ask them), then the files (a file that went meanwhile is skipped).
 */
export async function replay(conn: CriConnection, r: Recorded): Promise<void> {
  const status = (m: string): boolean => m.endsWith('Status');
  await Promise.all(
    r.calls.filter((c) => !status(c.method)).map((c) => conn.call(c.method, c.req)),
  );
  await Promise.all(r.calls.filter((c) => status(c.method)).map((c) => conn.call(c.method, c.req)));
  for (const { op, path } of r.fs) {
    try {
      READ[op](path);
    } catch {
      // gone since the recording: the scan would have met the same
    }
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const r = JSON.parse(readFileSync(process.argv[2] ?? '', 'utf8')) as Recorded;
  const conn = connectCri(r.socket, { timeoutMs: 60_000 });
  await replay(conn, r);
  conn.close();
}
