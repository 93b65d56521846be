/**
 * The one logger factory of the sidecar: JSON lines in a cluster (stdout is not a TTY), readable
 * colourised lines in a terminal. Secrets are redacted by key wherever they appear, so a stray
 * registration or request header logged by mistake still never shows a credential.
 */
import { SECRET_LOG_PATHS } from '@chartsync/api';
import { type Logger, pino } from 'pino';

export type { Logger } from 'pino';

export interface LoggerOptions {
  level?: string;
  /** Force pretty (true) or JSON (false); default: pretty when stdout is a TTY. */
  pretty?: boolean;
  /** Write here instead of stdout (tests). */
  destination?: NodeJS.WritableStream;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const level = opts.level ?? process.env.LOG_LEVEL ?? 'info';
  const base = { level, redact: { paths: [...SECRET_LOG_PATHS], censor: '[redacted]' } };
  if (opts.destination) return pino(base, opts.destination);
  const pretty = opts.pretty ?? Boolean(process.stdout.isTTY);
  if (!pretty) return pino(base);
  return pino({
    ...base,
    transport: {
      target: 'pino-pretty',
      options: { colorize: true, translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname' },
    },
  });
}

/** A logger that drops everything: for library use without a configured logger. */
export const silentLogger: Logger = pino({ level: 'silent' });
