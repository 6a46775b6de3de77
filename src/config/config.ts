import { agent, type AgentConfig } from './agent.js';
import { audit, type AuditConfig } from './audit.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from './exit.js';
import { ConfigError, usage, type Command, type Env } from './flags.js';
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
  | ScanConfig
  | NetnsConfig
  | AgentConfig
  | { readonly command: 'help'; readonly topic?: string };

/** Every command, in the order the overview lists them. */
export const COMMANDS: readonly Command<Config>[] = [scan, agent, audit, netns, version];

/** Parses the command line (without node and script) and environment into a Config. */
export function parseConfig(argv: readonly string[], env: Env): Config {
  const [command, ...rest] = argv;
  if (rest.includes('-h') || rest.includes('--help')) return { command: 'help', topic: command };
  if (command === undefined || command === 'help' || command === '-h' || command === '--help') {
    return { command: 'help', topic: rest[0] };
  }
  if (command === '--version') return version.parse(['--client'], env);
  const found = COMMANDS.find((c) => c.name === command);
  if (!found) throw new ConfigError([`unknown command "${command}" (try: nsreport help)`]);
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
