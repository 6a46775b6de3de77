import { errorText } from '../base/errors.js';
/**
 * Expected failures of a procfs read are values, not exceptions: a process that exited between
 * listing and reading is `gone`; a file we may not read is `denied`.
 */
export type ReadFailure = 'gone' | 'denied' | 'error';

export type ReadResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly reason: ReadFailure; readonly detail: string };

export function ok<T>(value: T): ReadResult<T> {
  return { ok: true, value };
}

export function failed<T>(reason: ReadFailure, detail: string): ReadResult<T> {
  return { ok: false, reason, detail };
}

/** Maps a filesystem error to a ReadFailure. ESRCH shows up when a process dies mid-read. */
export function failureOf<T>(err: unknown, path: string): ReadResult<T> {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT' || code === 'ESRCH' || code === 'ENOTDIR') {
    return failed('gone', `${path}: ${code}`);
  }
  if (code === 'EACCES' || code === 'EPERM') return failed('denied', `${path}: ${code}`);
  return failed('error', `${path}: ${errorText(err)}`);
}
