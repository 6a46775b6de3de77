import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * Path resolution inside a container's root, off the agent's process: resolving a declared
 * destination walks the container's file system (`/proc/<pid>/root/…`), and a lookup in a hung
 * NFS or FUSE volume never returns — in a thread it would also keep the agent from exiting, so
 * it runs in a child process with a deadline, killed when it passes. Used only for destinations
 * the mount tables cannot place (mountinfo.ts boundAt): a container whose image links a
 * directory on the way and whose host source the host's table does not hold.
 */
export interface PathResolver {
  /** Each path as the container's root resolves it; an error text when it did not finish. */
  resolve(
    pid: number,
    paths: readonly string[],
  ): Promise<{ ok: true; value: ReadonlyMap<string, string> } | { ok: false; error: string }>;
}

const CHILD = fileURLToPath(new URL('./resolve-child.js', import.meta.url));

export function createPathResolver(opts: {
  readonly procRoot: string;
  readonly timeoutMs: number;
}): PathResolver {
  return {
    resolve(pid, paths) {
      return new Promise((resolve) => {
        const child = spawn(process.execPath, [CHILD], { stdio: ['pipe', 'pipe', 'ignore'] });
        let out = '';
        const timer = setTimeout(() => {
          child.kill('SIGKILL');
          resolve({
            ok: false,
            error: `mount destinations not resolved within ${opts.timeoutMs} ms (a volume that does not answer?)`,
          });
        }, opts.timeoutMs);
        child.stdout.setEncoding('utf8');
        child.stdout.on('data', (c: string) => (out += c));
        child.on('error', (err) => {
          clearTimeout(timer);
          resolve({ ok: false, error: `mount destinations not resolved: ${err.message}` });
        });
        child.on('close', (code, signal) => {
          clearTimeout(timer);
          if (code !== 0) {
            resolve({
              ok: false,
              error: `mount destinations not resolved: the resolver ended (${signal ?? `exit ${code}`})`,
            });
            return;
          }
          try {
            const list = JSON.parse(out) as string[];
            resolve({ ok: true, value: new Map(paths.map((p, i) => [p, list[i] ?? p])) });
          } catch {
            resolve({ ok: false, error: 'mount destinations not resolved: bad answer' });
          }
        });
        child.stdin.on('error', () => undefined);
        child.stdin.end(JSON.stringify({ procRoot: opts.procRoot, pid, paths }));
      });
    },
  };
}
