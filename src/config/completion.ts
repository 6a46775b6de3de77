import * as flags from './flags.js';

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

export interface CompletionConfig {
  readonly command: 'completion';
  readonly shell: Shell;
}

/** `nsreport __complete WORD…`: what the shell scripts and kubectl ask (cobra's protocol). */
export interface CompleteConfig {
  readonly command: '__complete';
  /** The words after `nsreport` (or `kubectl nsreport`), the last one the one being typed. */
  readonly words: readonly string[];
}

export const COMPLETION_FLAGS: flags.FlagDefs = { ...flags.HELP_FLAG };

export const completion: flags.Command<CompletionConfig> = {
  name: 'completion',
  synopsis: 'completion bash|zsh|fish',
  summary: 'the shell completion script (commands, flags, namespaces and pods)',
  description: [
    'Prints the completion script of a shell: commands, flags, the values of -o and the like,',
    "namespaces and pods (NamespaceReports) of the kubeconfig's cluster. kubectl completes",
    '`kubectl nsreport` through kubectl_complete-nsreport (installed beside nsreport).',
  ].join('\n'),
  examples: [
    'source <(nsreport completion bash)             # in ~/.bashrc',
    'nsreport completion zsh > "${fpath[1]}/_nsreport"',
    'nsreport completion fish > ~/.config/fish/completions/nsreport.fish',
  ],
  flags: COMPLETION_FLAGS,
  parse(argv, env) {
    const parsed = flags.parseFlags(argv, COMPLETION_FLAGS, env);
    const [shell, ...rest] = parsed.positionals;
    if (rest.length > 0 || shell === undefined || !(SHELLS as readonly string[]).includes(shell))
      parsed.problems.push(
        `completion: which shell? (${SHELLS.join(', ')}; got ${flags.quote(parsed.positionals.join(' '))})`,
      );
    if (parsed.problems.length > 0) throw new flags.ConfigError(parsed.problems);
    return { command: 'completion', shell: shell as Shell };
  },
};
