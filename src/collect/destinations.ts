import type { ContainerDetail, DeclaredMount } from '../cri/types.js';
import { boundAt, mountAt, type MountInfo } from '../procfs/mountinfo.js';
import { readMountinfo } from '../procfs/reader.js';
import { createPathResolver, type PathResolver } from './resolver.js';

/**
 * Where each declared mount destination is in the container: as written, or where the image's
 * symlinks put it (images where `/var/run` → `/run` have the token at `/run/secrets/…`). Found
 * from the mount tables when they can say it — the destination is a mount point of the
 * container, or the kernel shows the host source bound somewhere (mountinfo.ts boundAt) — and
 * only else by walking the container's root in a child process with a deadline (resolver.ts).
 * Nothing here looks up a path in a container's file system on the agent's event loop: a hung
 * volume costs that container an error for a while, never the agent.
 */
export interface DestinationResolver {
  /** Declared destination → resolved path, and why some are as written (null when none). */
  resolve(
    id: string,
    detail: ContainerDetail,
    hostMounts: readonly MountInfo[],
  ): Promise<{ resolved: ReadonlyMap<string, string>; error: string | null }>;
  /** Forgets the containers not in `live`. */
  prune(live: ReadonlySet<string>): void;
}

export interface DestinationResolverOptions {
  readonly procRoot: string;
  /** Deadline of the walk in the container's root (default 2 s). */
  readonly timeoutMs?: number;
  /** How long a container whose walk did not finish waits before another try (default 10 min). */
  readonly retryMs?: number;
  readonly now: () => number;
  /** The walker (default: the child process); tests give another. */
  readonly walker?: PathResolver;
}

/** The longest common tail of two paths, in components. */
function commonTail(a: string, b: string): number {
  const x = a.split('/');
  const y = b.split('/');
  let n = 0;
  while (n < x.length && n < y.length && x[x.length - 1 - n] === y[y.length - 1 - n]) n++;
  return n;
}

/** One destination from the tables alone; null when they cannot place it. */
function fromTables(
  m: DeclaredMount,
  mounts: readonly MountInfo[],
  hostMounts: readonly MountInfo[],
): string | null {
  if (mountAt(mounts, m.containerPath)) return m.containerPath;
  const places = boundAt(m.hostPath, hostMounts, mounts);
  if (places.length === 0) return null;
  // The same host directory bound twice: the place that looks most like the declared one.
  return [...places].sort(
    (a, b) => commonTail(b, m.containerPath) - commonTail(a, m.containerPath),
  )[0] as string;
}

type Entry =
  | { readonly ok: true; readonly resolved: ReadonlyMap<string, string> }
  | { readonly ok: false; readonly error: string; readonly retryAt: number };

export function createDestinationResolver(opts: DestinationResolverOptions): DestinationResolver {
  const walker =
    opts.walker ??
    createPathResolver({ procRoot: opts.procRoot, timeoutMs: opts.timeoutMs ?? 2000 });
  const cache = new Map<string, Entry>();
  const asDeclared = (d: ContainerDetail): Map<string, string> =>
    new Map(d.mounts.map((m) => [m.containerPath, m.containerPath]));

  async function compute(
    id: string,
    detail: ContainerDetail,
    hostMounts: readonly MountInfo[],
  ): Promise<{ resolved: ReadonlyMap<string, string>; error: string | null }> {
    const mounts = readMountinfo(opts.procRoot, detail.pid);
    // Gone or unreadable: the container's other reads say so; asked again next scan.
    if (!mounts.ok) return { resolved: asDeclared(detail), error: null };
    const resolved = new Map<string, string>();
    const left: string[] = [];
    for (const m of detail.mounts) {
      const at = fromTables(m, mounts.value, hostMounts);
      if (at === null) left.push(m.containerPath);
      else resolved.set(m.containerPath, at);
    }
    if (left.length > 0) {
      const walked = await walker.resolve(detail.pid, left);
      if (!walked.ok) {
        cache.set(id, {
          ok: false,
          error: walked.error,
          retryAt: opts.now() + (opts.retryMs ?? 600_000),
        });
        for (const p of left) resolved.set(p, p);
        return { resolved, error: walked.error };
      }
      for (const [p, to] of walked.value) resolved.set(p, to);
    }
    cache.set(id, { ok: true, resolved });
    return { resolved, error: null };
  }

  return {
    async resolve(id, detail, hostMounts) {
      const entry = cache.get(id);
      if (entry?.ok) return { resolved: entry.resolved, error: null };
      if (entry && opts.now() < entry.retryAt)
        return { resolved: asDeclared(detail), error: entry.error };
      return compute(id, detail, hostMounts);
    },
    prune(live) {
      for (const id of cache.keys()) if (!live.has(id)) cache.delete(id);
    },
  };
}
