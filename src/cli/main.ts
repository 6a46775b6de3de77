#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { helpText, parseConfig, type Config } from '../config/config.js';
import { EXIT_FAILURE, EXIT_USAGE } from '../config/exit.js';
import { ConfigError } from '../config/flags.js';
import { processIO } from './io.js';

const io = processIO();

/**
 * Once a command is done, nothing it started matters: a connection kept alive, a hung exec
 * credential plugin or a gRPC channel must not hold the process. It ends by itself when nothing
 * is left; otherwise shortly after.
 */
function exit(code: number): void {
  process.exitCode = code;
  setTimeout(() => process.exit(code), 200).unref();
}

function version(): string {
  const pkg = JSON.parse(
    readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'),
  ) as { version: string };
  return pkg.version;
}

/** The streams, and what the human outputs need to know of the terminal. */
function terminalIO(): typeof io & { stderrIsTTY: boolean; color: boolean } {
  return {
    ...io,
    stderrIsTTY: process.stderr.isTTY,
    // https://no-color.org: any non-empty NO_COLOR turns colors off.
    color: process.stdout.isTTY && !process.env.NO_COLOR,
  };
}

type Run<C extends Config['command']> = (
  config: Extract<Config, { command: C }>,
) => Promise<number> | number;

/**
 * Each command loads only its own modules: the Kubernetes client, pino and prom-client cost
 * `scan` ~0.4 s of start-up for nothing.
 */
const RUN: { readonly [C in Config['command']]: Run<C> } = {
  help: (config) => {
    io.stdout(helpText(config.topic));
    return 0;
  },
  version: async (config) => (await import('./version.js')).runVersion(config, version(), io),
  scan: async (config) => (await import('./scan.js')).runScan(config, io),
  'netns-link': async (config) => (await import('./netns.js')).runNetns(config, io),
  'netns-unlink': async (config) => (await import('./netns.js')).runNetns(config, io),
  agent: async (config) => (await import('./agent.js')).runAgent(config, io),
  audit: async (config) => (await import('./audit.js')).runAudit(config, terminalIO()),
  describe: async (config) => (await import('./describe.js')).runDescribe(config, terminalIO()),
  completion: async (config) => (await import('./completion.js')).runCompletion(config, io),
  __complete: async (config) => (await import('./completion.js')).runComplete(config, io),
};

/** Runs one command; resolves to its exit code. */
export async function main(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  let config: Config;
  try {
    config = parseConfig(argv, env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    for (const p of err.problems) io.stderr(`nsreport: ${p}`);
    return EXIT_USAGE;
  }
  return (RUN[config.command] as Run<typeof config.command>)(config);
}

/**
 * A bug's message on one line (it may quote anything), then its stack frames, one a line. The
 * frames are read after the message, which may hold newlines of its own.
 */
function unexpected(err: unknown): string[] {
  if (!(err instanceof Error)) return [`nsreport: unexpected error: ${String(err)}`];
  const head = `${err.name}: ${err.message}`;
  const stack = err.stack ?? '';
  const frames = (stack.startsWith(head) ? stack.slice(head.length) : stack)
    .split('\n')
    .filter((l) => /^\s+at /.test(l));
  return [`nsreport: unexpected error: ${err.message}`, ...frames];
}

main(process.argv.slice(2), process.env).then(exit, (err: unknown) => {
  for (const line of unexpected(err)) io.stderr(line);
  exit(EXIT_FAILURE);
});
