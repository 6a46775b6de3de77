/** The exit codes of every command, in one place (help text and docs/reference.md list them). */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
/** `audit --fail-on`: a finding reached the severity; distinct from errors, for CI gates. */
export const EXIT_FAIL_ON = 3;

export const EXIT_CODES: readonly { readonly code: number; readonly meaning: string }[] = [
  {
    code: EXIT_OK,
    meaning:
      'done; also when a reader closed stdout early (`| head`: the output stops, not the command), and `version` whatever the cluster part met',
  },
  {
    code: EXIT_FAILURE,
    meaning:
      'failure: the CRI runtime or the API server unreachable, refusing, erroring, answering garbage or not before the deadline; a write or mount that failed, a name in the way; `scan --pod` not on this node; the agent without a runtime socket or its `--metrics-addr`',
  },
  {
    code: EXIT_USAGE,
    meaning:
      'bad usage: every problem of the flags and environment at once (unknown flags, missing and bad values), a kubeconfig or credentials that cannot be used, a path that cannot serve (`--proc-root` that is not procfs, `--netns-dir`), help for an unknown command',
  },
  { code: EXIT_FAIL_ON, meaning: '`audit --fail-on`: a finding reached that severity' },
];
