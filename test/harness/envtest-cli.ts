/**
 * `pnpm -s envtest`: starts a throwaway API server by hand. The first stdout line is
 * `KUBECONFIG=<path>` (an admin kubeconfig); it runs until SIGINT/SIGTERM, then cleans up.
 */
import { startEnvtest } from './envtest.ts';

const env = await startEnvtest({ verbose: process.argv.includes('--verbose') });
process.stdout.write(`KUBECONFIG=${env.kubeconfigPath}\n`);
process.stderr.write(`envtest: API server ${env.server} ready (data in ${env.dir}); Ctrl-C stops it\n`);

let stopping = false;
const shutdown = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  process.stderr.write(`envtest: ${signal}, stopping\n`);
  await env.stop();
  process.exit(0);
};
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
// Keep the event loop alive until a signal arrives.
setInterval(() => {}, 1 << 30);
