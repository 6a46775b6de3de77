import { isDns1123Subdomain } from '../inspect/names.js';
import * as flags from './flags.js';

export interface DescribeConfig extends flags.NodeScanSettings {
  readonly command: 'describe';
  /** Namespace and name of the pod; the namespace is null when only -n or the context can say. */
  readonly pod: { readonly namespace: string | null; readonly name: string };
  /** From this machine's runtime, not the cluster. */
  readonly local: boolean;
  readonly kubeconfig: string | null;
  readonly context: string | null;
  readonly requestTimeoutMs: number;
}

export const DESCRIBE_FLAGS: flags.FlagDefs = {
  namespace: {
    type: 'string',
    short: 'n',
    help: "the pod's namespace (POD or pod/POD); default: the context's, else default",
    completes: 'namespace',
  },
  local: {
    type: 'boolean',
    help: "read this machine's runtime and procfs, not the cluster (no cluster needed)",
  },
  ...flags.KUBECONFIG_FLAGS,
  'request-timeout': {
    type: 'string',
    help: 'deadline of each API request',
    default: '30s',
    env: true,
  },
  ...flags.NODE_SCAN_FLAGS,
  ...flags.HELP_FLAG,
};

export const describe: flags.Command<DescribeConfig> = {
  name: 'describe',
  synopsis: 'describe NAMESPACE/POD [flags]',
  alias: 'kubectl nsreport describe pod/POD -n NAMESPACE',
  summary: "one pod's isolation in words, and the commands to look by hand",
  description: [
    "One pod's isolation, container by container: its host PID, each namespace (the host's or its",
    'own, and which other pods of the node share it), the network it sees and which listeners',
    'other machines can reach, every mount with declared and observed propagation and what that',
    'means, the findings with their fix, and the commands to look further by hand (nsenter,',
    "findmnt, ip netns) with the real PID. From the pod's NamespaceReport in the cluster, held",
    "against its Pod; with --local from this machine's runtime. Exit codes: 0 ok, 1 failure (no",
    'such report or pod, API or runtime error), 2 bad usage.',
  ].join('\n'),
  examples: [
    'nsreport describe kube-system/kube-proxy-7xk2p',
    'kubectl nsreport describe pod/csi-node-4f9z -n storage',
    'sudo nsreport describe --local default/web-0',
  ],
  flags: DESCRIBE_FLAGS,
  parse: parseDescribe,
};

/**
 * The pod argument as kubectl and nsreport write it: NAMESPACE/POD, pod/POD (pods/, po/) or POD,
 * the last two with -n or the context's namespace.
 */
function podArgument(parsed: flags.Parsed, namespace: string | null): DescribeConfig['pod'] | null {
  const [arg, ...rest] = parsed.positionals;
  if (rest.length > 0)
    parsed.problems.push(
      `describe takes one pod (got ${flags.quote(parsed.positionals.join(' '))})`,
    );
  if (arg === undefined) {
    parsed.problems.push('describe: which pod? (NAMESPACE/POD, or pod/POD with -n NAMESPACE)');
    return null;
  }
  const kind = /^(pods?|po)\/(.*)$/.exec(arg);
  if (kind) {
    const name = kind[2] ?? '';
    if (!isDns1123Subdomain(name)) {
      parsed.problems.push(`describe: ${flags.quote(arg)}: ${flags.quote(name)} is not a pod name`);
      return null;
    }
    return { namespace, name };
  }
  if (arg.includes('/')) {
    const ref = flags.parsePodRef(arg);
    if (ref === null) {
      parsed.problems.push(`describe: expected NAMESPACE/POD, got ${flags.quote(arg)}`);
      return null;
    }
    if (namespace !== null && namespace !== ref.namespace)
      parsed.problems.push(
        `describe: ${flags.quote(arg)} and -n ${namespace}: choose one namespace`,
      );
    return ref;
  }
  if (!isDns1123Subdomain(arg)) {
    parsed.problems.push(`describe: ${flags.quote(arg)} is not a pod name`);
    return null;
  }
  return { namespace, name: arg };
}

function parseDescribe(argv: readonly string[], env: flags.Env): DescribeConfig {
  const parsed = flags.parseFlags(argv, DESCRIBE_FLAGS, env);
  const namespace = flags.nameFlag(parsed, 'namespace', 'namespace');
  const pod = podArgument(parsed, namespace);
  const local = flags.booleanFlag(parsed, 'local');
  const config = {
    command: 'describe' as const,
    // Without a cluster there is no context: the default namespace, as kubectl's.
    pod: pod && local && pod.namespace === null ? { ...pod, namespace: 'default' } : pod,
    local,
    kubeconfig: flags.nonEmptyFlag(parsed, 'kubeconfig'),
    context: flags.nonEmptyFlag(parsed, 'context'),
    requestTimeoutMs: flags.durationFlag(parsed, 'request-timeout'),
    ...flags.nodeScanFlags(parsed),
  };
  if (config.pod === null) throw new flags.ConfigError(parsed.problems);
  return flags.checked<DescribeConfig>(parsed, { ...config, pod: config.pod });
}
