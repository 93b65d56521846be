/**
 * ChartMuseum's API stand-in as a program, for its container image on the real node
 * (node-images.ts): started like ChartMuseum's image, `--port=N` and ChartMuseum's environment
 * (STORAGE=local, STORAGE_LOCAL_ROOTDIR, DEPTH=1, BASIC_AUTH_USER/PASS, BEARER_AUTH is not
 * supported, ALLOW_OVERWRITE, DISABLE_API). Anything it cannot honour is refused at start, never ignored.
 */
import { ChartMuseumApi } from './chartmuseum-api.ts';

const env = process.env;
const portArg = process.argv.slice(2).find((a) => a.startsWith('--port='));
const port = Number(portArg?.slice('--port='.length) ?? env.PORT ?? 8080);
const fail = (msg: string): never => {
  console.error(`chartmuseum stand-in: ${msg}`);
  process.exit(2);
};
if ((env.STORAGE ?? 'local') !== 'local') fail(`only STORAGE=local is implemented, not ${env.STORAGE}`);
if ((env.DEPTH ?? '1') !== '1') fail(`only DEPTH=1 is implemented, not ${env.DEPTH}`);
if (!env.STORAGE_LOCAL_ROOTDIR) fail('STORAGE_LOCAL_ROOTDIR is required');
if (env.BEARER_AUTH === 'true') fail('BEARER_AUTH is not implemented');

const api = new ChartMuseumApi({
  root: env.STORAGE_LOCAL_ROOTDIR as string,
  host: '0.0.0.0',
  port,
  allowOverwrite: env.ALLOW_OVERWRITE === 'true',
  disableApi: env.DISABLE_API === 'true',
  ...(env.BASIC_AUTH_USER ? { username: env.BASIC_AUTH_USER, password: env.BASIC_AUTH_PASS ?? '' } : {}),
});
await api.start();
console.log(
  JSON.stringify({ msg: 'chartmuseum API stand-in listening', port: api.port, root: api.opts.root }),
);
// PID 1 in a container gets no default signal handling: stop on SIGTERM/SIGINT explicitly.
for (const sig of ['SIGTERM', 'SIGINT'] as const) {
  process.on(sig, () => {
    void api.stop().then(() => process.exit(0));
  });
}
