/** The exit codes of every command, in one place (help text and docs/reference.md list them). */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
/** `audit --fail-on`: a finding reached the severity; distinct from errors, for CI gates. */
export const EXIT_FAIL_ON = 3;

export const EXIT_CODES: readonly { readonly code: number; readonly meaning: string }[] = [
  { code: EXIT_OK, meaning: 'done' },
  {
    code: EXIT_FAILURE,
    meaning:
      'failure: CRI or API unreachable, refused or erroring, a write or mount that failed, a name in the way',
  },
  {
    code: EXIT_USAGE,
    meaning:
      'bad usage: flags, environment, kubeconfig, a path that cannot serve (--proc-root, --netns-dir)',
  },
  { code: EXIT_FAIL_ON, meaning: '`audit --fail-on`: a finding reached that severity' },
];
