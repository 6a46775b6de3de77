import {
  HELP_FLAG,
  KUBECONFIG_FLAGS,
  booleanFlag,
  check,
  durationFlag,
  noArguments,
  parseFlags,
  stringFlag,
  type Command,
  type Env,
  type FlagDefs,
} from './flags.js';

export interface VersionConfig {
  readonly command: 'version';
  /** Only this program's version, no cluster call. */
  readonly client: boolean;
  readonly kubeconfig: string | null;
  readonly context: string | null;
  readonly requestTimeoutMs: number;
}

export const VERSION_FLAGS: FlagDefs = {
  client: { type: 'boolean', help: "only this program's version (no cluster call)" },
  ...KUBECONFIG_FLAGS,
  'request-timeout': {
    type: 'string',
    help: 'deadline of the API request for the agents',
    default: '5s',
    env: true,
  },
  ...HELP_FLAG,
};

function parseVersion(argv: readonly string[], env: Env): VersionConfig {
  const parsed = parseFlags(argv, VERSION_FLAGS, env);
  noArguments('version', parsed);
  const config: VersionConfig = {
    command: 'version',
    client: booleanFlag(parsed, 'client'),
    kubeconfig: stringFlag(parsed, 'kubeconfig'),
    context: stringFlag(parsed, 'context'),
    requestTimeoutMs: durationFlag(parsed, 'request-timeout'),
  };
  check(parsed);
  return config;
}

export const version: Command<VersionConfig> = {
  name: 'version',
  synopsis: 'version [flags]   (also: kubectl nsreport version)',
  summary: "this program's version and the cluster's agents'",
  description:
    "This program's version, then the agents' (the nsreport DaemonSets of the cluster in the\nkubeconfig, when it can be read).",
  flags: VERSION_FLAGS,
  parse: parseVersion,
};
