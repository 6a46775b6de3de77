import type { ChildProcess } from 'node:child_process';
import { spawnNsreport } from '../nsreport.js';

/** The built agent as a separate process, as the DaemonSet runs it. */

export interface AgentProcess {
  readonly child: ChildProcess;
  readonly metricsUrl: string;
  logs(): string;
  /** SIGTERM; resolves with the exit code and how long it took. */
  stop(): Promise<{ code: number | null; ms: number }>;
}

/** `nsreport scan -o json` of the lab's socket, with the test process as the host reference. */
export function labScanArgs(socket: string, ...extra: string[]): string[] {
  return [
    'scan',
    '-o',
    'json',
    '--cri-endpoint',
    socket,
    '--host-pid',
    String(process.pid),
    ...extra,
  ];
}

/** The flags every test agent runs with: a kubeconfig, its node, the lab's socket. */
export function labAgentArgs(o: {
  kubeconfig: string;
  node: string;
  socket: string;
  resync: string;
}): string[] {
  return [
    ...['--kubeconfig', o.kubeconfig, '--node-name', o.node, '--cri-endpoint', o.socket],
    // PID 1 is unreadable on these machines; the test process is in the host namespaces.
    ...['--host-pid', String(process.pid), '--resync', o.resync],
  ];
}

export function startAgent(
  args: string[],
  port: number,
  node: { options?: string; flags?: string[] } = {},
): AgentProcess {
  const child = spawnNsreport(['agent', '--metrics-addr', `127.0.0.1:${port}`, ...args], {
    ...(node.options ? { env: { NODE_OPTIONS: node.options } } : {}),
    ...(node.flags ? { nodeFlags: node.flags } : {}),
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  return {
    child,
    metricsUrl: `http://127.0.0.1:${port}`,
    logs: () => out,
    stop: () =>
      new Promise((resolve) => {
        const t0 = Date.now();
        if (child.exitCode !== null) {
          resolve({ code: child.exitCode, ms: 0 });
          return;
        }
        child.once('exit', (code) => {
          resolve({ code, ms: Date.now() - t0 });
        });
        child.kill('SIGTERM');
      }),
  };
}

export async function httpGet(url: string): Promise<{ status: number; body: string }> {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(5000) });
    return { status: r.status, body: await r.text() };
  } catch {
    return { status: 0, body: '' };
  }
}

/** Sum of a counter/gauge family over the label sets matching `labels` (text exposition). */
export function metricValue(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const set = m[2] ?? '';
    if (Object.entries(labels).every(([k, v]) => set.includes(`${k}="${v}"`))) sum += Number(m[3]);
  }
  return sum;
}

export async function until<T>(
  what: string,
  fn: () => Promise<T | undefined> | T | undefined,
  timeoutMs: number,
  /** What to say beside the timeout: an agent's log, say. */
  context?: () => string,
): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() - t0 > timeoutMs)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${context ? `\n${context()}` : ''}`,
      );
    await new Promise((r) => setTimeout(r, 200));
  }
}

export function freePort(): Promise<number> {
  return import('node:net').then(
    ({ createServer }) =>
      new Promise((resolve) => {
        const s = createServer().listen(0, '127.0.0.1', () => {
          const addr = s.address();
          s.close(() => {
            resolve(typeof addr === 'object' && addr ? addr.port : 0);
          });
        });
      }),
  );
}
