import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The built CLI, run by every test and benchmark the way a user runs it: its own process. */
export const NSREPORT = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliOptions {
  /** Added to this process's environment. */
  readonly env?: Readonly<Record<string, string>>;
  /** Node's own flags, before the script (e.g. --lite-mode). */
  readonly nodeFlags?: readonly string[];
  /** A command it runs under, e.g. `['setpriv', '--bounding-set=-sys_admin', '--']`. */
  readonly wrap?: readonly string[];
  /** Only `env`, not this process's environment (a run that must not see KUBECONFIG, HOME…). */
  readonly cleanEnv?: boolean;
}

const environment = (o: CliOptions): NodeJS.ProcessEnv =>
  o.cleanEnv ? { ...o.env } : { ...process.env, ...o.env };

/** The argv that runs `nsreport ARGS` (for wrappers such as capsh or time). */
export function nsreportArgv(args: readonly string[], o: CliOptions = {}): string[] {
  return [...(o.wrap ?? []), process.execPath, ...(o.nodeFlags ?? []), NSREPORT, ...args];
}

/** `nsreport ARGS` to its end. */
export function nsreport(args: readonly string[], o: CliOptions = {}): CliResult {
  const [node = process.execPath, ...rest] = nsreportArgv(args, o);
  const r = spawnSync(node, rest, { encoding: 'utf8', env: environment(o) });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

export interface RunOptions extends CliOptions {
  /** Killed (SIGKILL) after this long (default 30 s); the result says so. */
  readonly timeoutMs?: number;
  /** Closes the read end of stdout at once, as `nsreport … | head -0` would. */
  readonly closeStdout?: boolean;
}

/**
 * `nsreport ARGS` to its end without blocking this process (which may be serving the fakes it
 * talks to, a fake CRI runtime), or killed at the deadline: `timedOut` (and code null) then.
 */
export function runNsreport(
  args: readonly string[],
  o: RunOptions = {},
): Promise<CliResult & { readonly timedOut: boolean }> {
  const child = spawnNsreport(args, o);
  let stdout = '';
  let stderr = '';
  if (o.closeStdout) child.stdout?.destroy();
  else child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, o.timeoutMs ?? 30_000);
  return new Promise((resolve) => {
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, timedOut });
    });
  });
}

/** `nsreport ARGS` in the background (the agent), its output piped. */
export function spawnNsreport(args: readonly string[], o: CliOptions = {}): ChildProcess {
  const [node = process.execPath, ...rest] = nsreportArgv(args, o);
  return spawn(node, rest, { stdio: ['ignore', 'pipe', 'pipe'], env: environment(o) });
}
