import * as flags from './flags.js';

export interface VersionConfig {
  readonly command: 'version';
  /** Only this program's version, no cluster call. */
  readonly client: boolean;
  readonly kubeconfig: string | null;
  readonly context: string | null;
  readonly requestTimeoutMs: number;
}

export const VERSION_FLAGS: flags.FlagDefs = {
  client: { type: 'boolean', help: "only this program's version (no cluster call)" },
  ...flags.KUBECONFIG_FLAGS,
  'request-timeout': {
    type: 'string',
    help: 'deadline of the API request for the agents',
    default: '5s',
    env: true,
  },
  ...flags.HELP_FLAG,
};

export const version: flags.Command<VersionConfig> = {
  name: 'version',
  synopsis: 'version [flags]',
  alias: 'kubectl nsreport version',
  summary: "this program's version and the cluster's agents'",
  description:
    "This program's version, then the agents' (the nsreport DaemonSets of the cluster in the\nkubeconfig, when it can be read).",
  examples: ['nsreport version', 'kubectl nsreport version --client'],
  flags: VERSION_FLAGS,
  parse: parseVersion,
};

function parseVersion(argv: readonly string[], env: flags.Env): VersionConfig {
  const parsed = flags.parseFlags(argv, VERSION_FLAGS, env, 'version');
  return flags.checked<VersionConfig>(parsed, {
    command: 'version',
    client: flags.booleanFlag(parsed, 'client'),
    kubeconfig: flags.nonEmptyFlag(parsed, 'kubeconfig'),
    context: flags.nonEmptyFlag(parsed, 'context'),
    requestTimeoutMs: flags.durationFlag(parsed, 'request-timeout'),
  });
}
