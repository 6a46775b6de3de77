import { escapeText } from './escape.js';

/**
 * Where a command writes. stdout takes the command's output as its format made it (tables escape
 * their cells; json and yaml are exact). stderr takes one message line without its newline: the
 * writer escapes it whole (escape.ts), so a name or an error text from a container, the runtime
 * or the API stays on its one line, and ends it.
 */
export interface CliIO {
  readonly stdout: (s: string) => void;
  readonly stderr: (line: string) => void;
}

/** The process's streams as the commands write them, and the audit's progress line. */
export interface ProcessIO extends CliIO {
  /** Rewrites the progress line of a terminal's stderr (escaped, no newline). */
  readonly progress: (line: string) => void;
}

/**
 * The process's stdout and stderr as the commands write them. Every message line is escaped
 * here, the one writer of stderr: the commands' messages hold names and error texts from
 * containers, the runtime and the API.
 *
 * A reader that stops reading (`nsreport audit -o csv | head -1`) closes its end of the pipe;
 * the next write fails with EPIPE as an 'error' event, which without a listener ends the process
 * with a stack trace. Here a stream that failed is closed: what is written to it later is
 * dropped, and the command ends as it would have, with its own exit code (the reader chose to
 * stop; `--fail-on` still gates). The listeners stay on the process's streams, so the agent's
 * logger (pino, on stdout) is covered too: the agent goes on without its logs.
 */
export function processIO(): ProcessIO {
  const closed = { stdout: false, stderr: false };
  const writer = (name: 'stdout' | 'stderr'): ((s: string) => void) => {
    const stream = process[name];
    stream.on('error', () => {
      closed[name] = true;
    });
    return (s) => {
      if (!closed[name] && !stream.destroyed) stream.write(s);
    };
  };
  const out = writer('stdout');
  const err = writer('stderr');
  return {
    stdout: out,
    stderr: (line) => {
      err(`${escapeText(line)}\n`);
    },
    progress: (line) => {
      err(`\r${escapeText(line)}`);
    },
  };
}
