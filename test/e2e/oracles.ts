import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';

/**
 * Independent oracles: tools that read the same facts without nsreport's code — containerd's
 * own task API (ctr), util-linux (lsns, findmnt) and iproute2 (ss, ip).
 */

function run(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8' });
}

/** Container id → PID, from containerd's task service (not CRI). */
export function ctrTaskPids(socket: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of run('ctr', ['-a', socket, '-n', 'k8s.io', 'tasks', 'ls'])
    .split('\n')
    .slice(1)) {
    const [id, pid, status] = line.trim().split(/\s+/);
    if (id && pid && status === 'RUNNING') out.set(id, Number(pid));
  }
  return out;
}

/**
 * Container id → PID of every running container, from runc's own state (`runc list`): what the
 * OCI runtime under containerd or CRI-O started, read without CRI.
 */
export function runcPids(root: string): Map<string, number> {
  const list = JSON.parse(run('runc', ['--root', root, 'list', '--format', 'json']) || '[]') as
    { id: string; pid: number; status: string }[] | null;
  return new Map((list ?? []).filter((c) => c.status === 'running').map((c) => [c.id, c.pid]));
}

/** Namespace type → inode of a process, from `lsns -J -p PID`. */
export function lsnsInodes(pid: number): Record<string, number> {
  const doc = JSON.parse(run('lsns', ['-J', '-p', String(pid)])) as {
    namespaces: { ns: number | string; type: string }[];
  };
  return Object.fromEntries(doc.namespaces.map((n) => [n.type, Number(n.ns)]));
}

/**
 * findmnt's PROPAGATION column in nsreport's words: findmnt prints `private,slave` for a mount
 * that only receives (master:N) and `shared,slave` for one that does both.
 */
export function normaliseFindmnt(p: string): string {
  const parts = new Set(p.split(','));
  if (parts.has('unbindable')) return 'unbindable';
  if (parts.has('shared') && parts.has('slave')) return 'shared+slave';
  if (parts.has('slave')) return 'slave';
  return parts.has('shared') ? 'shared' : 'private';
}

/** Mount point → propagation in the mount namespace of PID, from `findmnt -N PID`. */
export function findmntPropagation(pid: number): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of run('findmnt', ['-N', String(pid), '-rn', '-o', 'TARGET,PROPAGATION']).split(
    '\n',
  )) {
    const sp = line.lastIndexOf(' ');
    if (sp <= 0) continue;
    const target = line
      .slice(0, sp)
      .replace(/\\x([0-9a-f]{2})/gi, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
    out.set(target, normaliseFindmnt(line.slice(sp + 1)));
  }
  return out;
}

/** PIDs listening on a TCP port in the host network namespace, from `ss -ltnp`. */
export function ssListenerPids(port: number): number[] {
  const out = run('ss', ['-Hltnp', `sport = :${port}`]);
  return [...out.matchAll(/pid=(\d+)/g)].map((m) => Number(m[1]));
}

export function ip(args: string[]): string {
  return run('ip', args);
}

/**
 * `nsreport describe`'s container blocks held against the kernel: each running container's host
 * PID is the one the OCI runtime started (`pids`: container id → PID), and each namespace row has
 * lsns's inode and says "the host's" exactly when lsns gives the host reference's (`host`).
 */
export function assertDescribedContainers(
  stdout: string,
  containers: readonly { name: string; id: string; namespaces: Record<string, unknown> }[],
  pids: ReadonlyMap<string, number>,
  host: Readonly<Record<string, number>>,
  what: string,
): void {
  for (const c of containers) {
    const block = stdout.slice(stdout.indexOf(`Container ${c.name}:`));
    const pid = Number(/Host PID: +(\d+)/.exec(block)?.[1]);
    assert.equal(pid, pids.get(c.id), `${what}/${c.name} pid`);
    const ns = lsnsInodes(pid);
    for (const type of Object.keys(c.namespaces)) {
      const row = new RegExp(
        `^ {4}${type} +(\\d+) +(the host's|the pod's|the container's)`,
        'm',
      ).exec(block);
      assert.equal(Number(row?.[1]), ns[type], `${what}/${c.name} ${type}`);
      assert.equal(
        row?.[2] === "the host's",
        ns[type] === host[type],
        `${what}/${c.name} ${type} is the host's`,
      );
    }
  }
}
