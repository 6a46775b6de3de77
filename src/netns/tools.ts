import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { readEffectiveCapabilities } from '../procfs/reader.js';
import { CAP_SYS_ADMIN, hasCapability } from '../procfs/status.js';

/**
 * util-linux `mount` and `umount` as child processes: Node has no mount(2). Each runs without a
 * shell, with a fixed argv, the C locale and no other environment (no LIBMOUNT_* from the
 * caller), and a deadline after which it is killed.
 */

/** How long one mount or umount may take before it is killed. */
export const TOOL_TIMEOUT_MS = 10_000;

/** The first `name` in `searchPath` that is an executable file; relative entries are skipped. */
export function findExecutable(name: string, searchPath: readonly string[]): string | null {
  for (const dir of searchPath) {
    if (!isAbsolute(dir)) continue;
    const file = join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      if (statSync(file).isFile()) return file;
    } catch {
      // not here: the next entry
    }
  }
  return null;
}

/**
 * Whether this process may mount: CAP_SYS_ADMIN in its effective set (an unreadable status says
 * nothing, and the tool's own error will). libmount words mount(2)'s EPERM as "mount point is
 * not a directory" for a bind onto a file, so the capability is looked at, not the message.
 */
export function canMount(): boolean {
  const caps = readEffectiveCapabilities('/proc', 'self');
  return !caps.ok || hasCapability(caps.value, CAP_SYS_ADMIN);
}

/** What `canMount() === false` means for the user. */
export const NO_SYS_ADMIN =
  'no CAP_SYS_ADMIN, which mount and umount need: run nsreport netns as root on the node';

/**
 * A tool's run: done, not there, not allowed (no CAP_SYS_ADMIN: not run), killed at its
 * deadline, or failed with its first line.
 */
export type ToolResult =
  | { readonly ok: true }
  | {
      readonly ok: false;
      readonly reason: 'missing' | 'denied' | 'timeout' | 'failed';
      readonly detail: string;
    };

/** The two operations a name needs. */
export interface Mounter {
  /** Bind-mounts the namespace open at `fd` (this process's) onto the file `target`. */
  bindNamespace(fd: number, target: string): Promise<ToolResult>;
  /** Unmounts the topmost mount at `target`. */
  unmount(target: string): Promise<ToolResult>;
}

export interface MounterOptions {
  /** Absolute paths of the tools, or null when they are not installed. */
  readonly mount: string | null;
  readonly umount: string | null;
  readonly timeoutMs?: number;
  /** Whether mounting is allowed at all; default canMount (tests stand in for it). */
  readonly mayMount?: () => boolean;
}

/** What the child writes on stderr is kept up to this many characters. */
const STDERR_LIMIT = 4096;

function firstLine(text: string): string {
  return text.trim().split('\n')[0]?.trim() ?? '';
}

/**
 * Runs `file args`; with `fd`, the child gets that descriptor as its fd 3 (the namespace it
 * binds is the one this process opened and checked, whatever the PID is by then).
 */
function runTool(
  file: string,
  args: readonly string[],
  fd: number | undefined,
  timeoutMs: number,
): Promise<ToolResult> {
  let child: ChildProcess;
  try {
    child = spawn(file, args, {
      stdio: ['ignore', 'ignore', 'pipe', ...(fd === undefined ? [] : [fd])],
      env: { LC_ALL: 'C' },
    });
  } catch (err) {
    return Promise.resolve({ ok: false, reason: 'failed', detail: `${file}: ${String(err)}` });
  }
  return new Promise((resolve) => {
    let stderr = '';
    let settled = false;
    const settle = (r: ToolResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(r);
    };
    // Settled at the deadline, not at close: a stuck child may hold its pipe open.
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      child.stderr?.destroy();
      settle({ ok: false, reason: 'timeout', detail: `did not finish within ${timeoutMs} ms` });
    }, timeoutMs);
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      if (stderr.length < STDERR_LIMIT) stderr += chunk;
    });
    child.on('error', (err: NodeJS.ErrnoException) => {
      const missing = err.code === 'ENOENT' || err.code === 'EACCES';
      settle({
        ok: false,
        reason: missing ? 'missing' : 'failed',
        detail: `${file}: ${err.message}`,
      });
    });
    child.on('close', (code, signal) => {
      if (code === 0) {
        settle({ ok: true });
        return;
      }
      const how = signal === null ? `exit ${code ?? '?'}` : `killed by ${signal}`;
      const said = firstLine(stderr);
      settle({ ok: false, reason: 'failed', detail: said === '' ? how : `${said} (${how})` });
    });
  });
}

function notInstalled(tool: string): Promise<ToolResult> {
  return Promise.resolve({
    ok: false,
    reason: 'missing',
    detail: `${tool} (util-linux) is not on PATH`,
  });
}

/**
 * The Mounter of util-linux: `mount --bind /proc/self/fd/3 TARGET` with the namespace as fd 3
 * (what `ip netns attach` does with mount(2), from a descriptor instead of a PID), and
 * `umount TARGET`. --no-canonicalize: libmount resolves no symlink in either path (the caller
 * gives canonical ones); --no-mtab: no utab entry or lock under /run/mount.
 */
export function createMounter(o: MounterOptions): Mounter {
  const timeoutMs = o.timeoutMs ?? TOOL_TIMEOUT_MS;
  const denied = (): Promise<ToolResult> | null =>
    (o.mayMount ?? canMount)()
      ? null
      : Promise.resolve({ ok: false, reason: 'denied', detail: NO_SYS_ADMIN });
  return {
    bindNamespace(fd, target) {
      if (o.mount === null) return notInstalled('mount');
      const no = denied();
      if (no) return no;
      return runTool(
        o.mount,
        ['--no-canonicalize', '--no-mtab', '--bind', '/proc/self/fd/3', target],
        fd,
        timeoutMs,
      );
    },
    unmount(target) {
      if (o.umount === null) return notInstalled('umount');
      const no = denied();
      if (no) return no;
      return runTool(o.umount, ['--no-canonicalize', '--no-mtab', target], undefined, timeoutMs);
    },
  };
}
