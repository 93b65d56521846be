/** `chartsync serve`: the sidecar HTTP API, standalone schedules and the built-in chart repository. */
import { ConfigError, parseServeFlags, resolveServeConfig, SERVE_USAGE } from '../config/config.js';
import { createLogger } from '../log/logger.js';
import { startSidecar } from '../server/start.js';

/** Resolves with the exit code once the server stopped (SIGTERM/SIGINT). */
export async function serveCommand(argv: string[]): Promise<number> {
  let config: Awaited<ReturnType<typeof resolveServeConfig>>;
  try {
    const flags = parseServeFlags(argv);
    if (flags.help) {
      process.stdout.write(SERVE_USAGE);
      return 0;
    }
    config = await resolveServeConfig(flags);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`chartsync serve: ${err.message}\n\n${SERVE_USAGE}`);
    return 2;
  }
  const logger = createLogger();
  const sidecar = await startSidecar(config, logger);
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  logger.info({ signal }, 'signal received');
  // A second signal, or a sync that will not end, must not keep the process alive forever.
  const force = setTimeout(() => {
    logger.error('graceful shutdown timed out');
    process.exit(1);
  }, 30_000);
  force.unref();
  process.once('SIGTERM', () => process.exit(1));
  process.once('SIGINT', () => process.exit(1));
  await sidecar.stop();
  logger.flush?.();
  return 0;
}
