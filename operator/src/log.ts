/**
 * The operator's logger: JSON lines in a cluster (stdout not a TTY), readable colourised lines
 * in a terminal. Credentials are redacted by key (@chartsync/api's SECRET_LOG_PATHS, the
 * sidecar's list too).
 */
import { SECRET_LOG_PATHS } from '@chartsync/api';
import { type Logger, pino } from 'pino';

export type { Logger } from 'pino';

export function createLogger(
  level = process.env.LOG_LEVEL ?? 'info',
  pretty = Boolean(process.stdout.isTTY),
  /** Write here instead of stdout (tests). */
  destination?: NodeJS.WritableStream,
): Logger {
  const base = {
    level,
    name: 'chartsync-operator',
    redact: { paths: [...SECRET_LOG_PATHS], censor: '[redacted]' },
  };
  if (destination) return pino(base, destination);
  if (!pretty) return pino(base);
  return pino({
    ...base,
    transport: {
      target: 'pino-pretty',
      options: { colorize: true, translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname' },
    },
  });
}
