import { pino, type Logger } from 'pino';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type { Logger };

/** JSON logs to stdout; modules take `log.child({ module })`. */
export function createLogger(level: LogLevel, destination?: NodeJS.WritableStream): Logger {
  return pino(
    { level, base: { app: 'nsreport' }, timestamp: pino.stdTimeFunctions.isoTime },
    destination ?? process.stdout,
  );
}
