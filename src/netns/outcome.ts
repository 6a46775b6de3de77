import { errorText } from '../base/errors.js';

/**
 * What a netns command did, or why it did not, as a value: one line for the user and, for a
 * failure, whether the input was wrong (`usage`) or the system refused (`failure`). src/cli turns
 * it into stdout or stderr and an exit code.
 */
export type NetnsOutcome =
  | { readonly ok: true; readonly message: string; readonly next?: string }
  | { readonly ok: false; readonly fault: 'usage' | 'failure'; readonly message: string };

/** Done (or nothing to do); `next`, a second line: what to run now. */
export function done(message: string, next?: string): NetnsOutcome {
  return next === undefined ? { ok: true, message } : { ok: true, message, next };
}

/** The system, the runtime or a name in the way refused. */
export function failure(message: string): NetnsOutcome {
  return { ok: false, fault: 'failure', message };
}

/** The input cannot work whatever the privileges: a path that cannot hold names. */
export function usage(message: string): NetnsOutcome {
  return { ok: false, fault: 'usage', message };
}

/** The errno code of a failed call, or its message. */
export function errorCode(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code === 'string') return code;
  return errorText(err);
}
