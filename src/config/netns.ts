import * as flags from './flags.js';

export interface NetnsConfig extends flags.CriSettings {
  readonly command: 'netns-link' | 'netns-unlink';
  readonly pod: { readonly namespace: string; readonly name: string };
  /** The ip-netns name of the pod: NAMESPACE_POD (both are DNS names, so `_` cannot clash). */
  readonly name: string;
  readonly netnsDir: string;
  /** nsreport's run directory: the records of the names it made (src/netns/record.ts). */
  readonly stateDir: string;
  /** Where `mount` and `umount` are looked up: $PATH. */
  readonly searchPath: readonly string[];
}

/** Where records of nsreport's names live: a tmpfs, gone at reboot with the mounts. */
export const STATE_DIR = '/run/nsreport';

/** $PATH when unset, as a login shell of root has it. */
const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The longest file name Linux takes (NAME_MAX): a longer name cannot be an ip-netns name. */
const NAME_MAX = 255;

export const NETNS_FLAGS: flags.FlagDefs = {
  ...flags.CRI_FLAGS,
  'netns-dir': {
    type: 'string',
    help: 'where ip netns looks for names (made when missing: one level, mode 0755)',
    completes: 'file',
    default: '/var/run/netns',
    env: true,
  },
  ...flags.HELP_FLAG,
};

export const netns: flags.Command<NetnsConfig> = {
  name: 'netns',
  synopsis: 'netns link|unlink NAMESPACE/POD [flags]',
  summary: "name the pod's network namespace for ip netns (unlink: remove it)",
  description: [
    "link names the pod's network namespace for ip netns: NETNS_DIR/NAMESPACE_POD, the namespace",
    'bind-mounted on it as `ip netns attach` does (util-linux mount), so the name keeps that',
    "namespace whatever becomes of the container's PID. It never replaces a name that exists (one",
    'it made for the same namespace: nothing to do). unlink unmounts and removes a name link made,',
    `and no other (none there: nothing to do). Records of its names: ${STATE_DIR}/netns.`,
    'Needs CAP_SYS_ADMIN (root on the node) and mount and umount on PATH.',
    'Exit codes: 0 done or nothing to do, 1 failure (runtime, pod, a name in the way, mount),',
    '2 bad usage (flags, --proc-root, --netns-dir).',
  ].join('\n'),
  examples: [
    'sudo nsreport netns link kube-system/coredns-5d78c9869d-8xk2p',
    'sudo ip netns exec kube-system_coredns-5d78c9869d-8xk2p ss -tulpn',
    'sudo nsreport netns unlink kube-system/coredns-5d78c9869d-8xk2p',
  ],
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
  const name = pod === null ? '' : `${pod.namespace}_${pod.name}`;
  if (name.length > NAME_MAX)
    parsed.problems.push(
      `netns ${verb}: the name of ${ref} would be ${name.length} characters, longer than a file name may be (${NAME_MAX})`,
    );
  const netnsDir = flags.absolutePathFlag(parsed, 'netns-dir');
  const cri = flags.criFlags(parsed);
  if (pod === null) throw new flags.ConfigError(parsed.problems);
  return flags.checked(parsed, {
    command: verb === 'link' ? 'netns-link' : 'netns-unlink',
    pod,
    name,
    ...cri,
    netnsDir,
    stateDir: STATE_DIR,
    searchPath: (env.PATH ?? DEFAULT_PATH).split(':'),
  });
}
