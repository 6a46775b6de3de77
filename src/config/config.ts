import { agent, type AgentConfig } from './agent.js';
import { audit, type AuditConfig } from './audit.js';
import { completion, type CompleteConfig, type CompletionConfig } from './completion.js';
import { describe, type DescribeConfig } from './describe.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from './exit.js';
import { ConfigError, quote, usage, type Command, type Env } from './flags.js';
import { netns, type NetnsConfig } from './netns.js';
import { scan, type ScanConfig } from './scan.js';
import { version, type VersionConfig } from './version.js';

/**
 * The only reader of argv and the environment: `parseConfig` hands the command line to the
 * command named first; each command's flags, parser and help live in `config/<command>.ts`.
 */

export type Config =
  | VersionConfig
  | AuditConfig
  | DescribeConfig
  | CompletionConfig
  | CompleteConfig
  | ScanConfig
  | NetnsConfig
  | AgentConfig
  | { readonly command: 'help'; readonly topic?: string };

/** Every command, in the order the overview lists them. */
export const COMMANDS: readonly Command<Config>[] = [
  scan,
  agent,
  audit,
  describe,
  netns,
  version,
  completion,
];

function unknownCommand(name: string): ConfigError {
  return new ConfigError([
    `unknown command ${quote(name)} (commands: ${COMMANDS.map((c) => c.name).join(', ')}; try: nsreport help)`,
  ]);
}

/** `nsreport help [COMMAND]`, `nsreport COMMAND --help`: a command it does not know is bad usage. */
function help(topic: string | undefined, extra: readonly string[]): Config {
  if (topic !== undefined && !COMMANDS.some((c) => c.name === topic)) throw unknownCommand(topic);
  if (extra.length > 0)
    throw new ConfigError([`help takes one command (got ${quote([topic, ...extra].join(' '))})`]);
  return topic === undefined ? { command: 'help' } : { command: 'help', topic };
}

/** Parses the command line (without node and script) and environment into a Config. */
export function parseConfig(argv: readonly string[], env: Env): Config {
  const [command, ...rest] = argv;
  if (command === undefined || command === '-h' || command === '--help')
    return help(rest[0], rest.slice(1));
  if (command === 'help') return help(rest[0], rest.slice(1));
  // The shells' and kubectl's question: not a command a person types, never a usage error.
  if (command === '__complete') return { command: '__complete', words: rest };
  if (command === '--version') return version.parse(['--client', ...rest], env);
  const found = COMMANDS.find((c) => c.name === command);
  if (!found) throw unknownCommand(command);
  if (rest.includes('-h') || rest.includes('--help')) return help(command, []);
  return found.parse(rest, env);
}

/** Help text for a command, or the overview. */
export function helpText(topic?: string): string {
  const command = COMMANDS.find((c) => c.name === topic);
  if (command) return usage(command);
  const lines = COMMANDS.map(
    (c) => `  ${c.synopsis.replace(/ *\[flags\].*$/, '').padEnd(32)} ${c.summary}`,
  );
  return `Usage: nsreport COMMAND [flags]\n\nCommands:\n${lines.join('\n')}\n\nRun "nsreport COMMAND --help" for its flags. Exit codes: ${EXIT_OK} ok, ${EXIT_FAILURE} failure, ${EXIT_USAGE} bad usage.\n`;
}
