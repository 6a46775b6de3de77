import * as flags from './flags.js';

export interface NetnsConfig extends flags.CriSettings {
  readonly command: 'netns-link' | 'netns-unlink';
  readonly pod: { readonly namespace: string; readonly name: string };
  readonly netnsDir: string;
}

export const NETNS_FLAGS: flags.FlagDefs = {
  ...flags.CRI_FLAGS,
  'netns-dir': {
    type: 'string',
    help: 'where ip-netns looks for names',
    default: '/var/run/netns',
    env: true,
  },
  ...flags.HELP_FLAG,
};

export const netns: flags.Command<NetnsConfig> = {
  name: 'netns',
  synopsis: 'netns link|unlink NAMESPACE/POD [flags]',
  summary: "name the pod's network namespace for ip netns (unlink: remove it)",
  description:
    "link makes the pod's network namespace a name for ip-netns: /var/run/netns/NAMESPACE_POD.",
  flags: NETNS_FLAGS,
  parse: parseNetns,
};

function parseNetns(argv: readonly string[], env: flags.Env): NetnsConfig {
  const parsed = flags.parseFlags(argv, NETNS_FLAGS, env);
  const [verb = '', ref = '', ...rest] = parsed.positionals;
  if (verb !== 'link' && verb !== 'unlink')
    parsed.problems.push(`netns: expected "link" or "unlink", got "${verb}"`);
  const pod = flags.parsePodRef(ref);
  if (pod === null) parsed.problems.push(`netns ${verb}: expected NAMESPACE/POD, got "${ref}"`);
  if (rest.length > 0) parsed.problems.push(`netns: unexpected arguments "${rest.join(' ')}"`);
  const netnsDir = flags.absolutePathFlag(parsed, 'netns-dir');
  const cri = flags.criFlags(parsed);
  if (pod === null) throw new flags.ConfigError(parsed.problems);
  return flags.checked(parsed, {
    command: verb === 'link' ? 'netns-link' : 'netns-unlink',
    pod,
    ...cri,
    netnsDir,
  });
}
