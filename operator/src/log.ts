/**
 * The operator's logger: JSON lines in a cluster (stdout not a TTY), readable colourised lines
 * in a terminal. Credential-looking keys are redacted wherever they appear.
 */
import { type Logger, pino } from 'pino';

export type { Logger } from 'pino';

const SECRET_PATHS = ['token', 'password', 'sshKey', '*.token', '*.password', '*.sshKey', '*.*.password'];

export function createLogger(
  level = process.env.LOG_LEVEL ?? 'info',
  pretty = Boolean(process.stdout.isTTY),
): Logger {
  const base = { level, name: 'chartsync-operator', redact: { paths: SECRET_PATHS, censor: '[redacted]' } };
  if (!pretty) return pino(base);
  return pino({
    ...base,
    transport: {
      target: 'pino-pretty',
      options: { colorize: true, translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname' },
    },
  });
}
