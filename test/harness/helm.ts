/**
 * Runs the real helm client (.tools/bin/helm) with an isolated home: HELM_CACHE_HOME,
 * HELM_CONFIG_HOME and HELM_DATA_HOME point into a temp dir, so tests never read or write the
 * user's repositories and run in parallel without sharing state.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { helmBin } from './paths.ts';

export interface HelmResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface Helm {
  home: string;
  env: NodeJS.ProcessEnv;
  /** Runs helm; never rejects on a non-zero exit (check `code`). */
  run(args: string[], opts?: { cwd?: string }): Promise<HelmResult>;
  /** Runs helm and rejects with its stderr on a non-zero exit. */
  ok(args: string[], opts?: { cwd?: string }): Promise<string>;
  /** `helm package <dir>` into a fresh directory; the archive bytes, or the failure. */
  package(chartDir: string): Promise<{ data: Buffer; fileName: string } | { error: string }>;
  cleanup(): Promise<void>;
}

export async function createHelm(): Promise<Helm> {
  const home = await mkdtemp(join(tmpdir(), 'chartsync-helm-'));
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: home,
    HELM_CACHE_HOME: join(home, 'cache'),
    HELM_CONFIG_HOME: join(home, 'config'),
    HELM_DATA_HOME: join(home, 'data'),
  };
  const run = (args: string[], opts: { cwd?: string } = {}) =>
    new Promise<HelmResult>((resolvePromise) => {
      execFile(helmBin, args, { env, cwd: opts.cwd, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolvePromise({ code, stdout, stderr });
      });
    });
  let counter = 0;
  return {
    home,
    env,
    run,
    async ok(args, opts) {
      const r = await run(args, opts);
      if (r.code !== 0) throw new Error(`helm ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
      return r.stdout;
    },
    async package(chartDir) {
      const dest = join(home, `pkg-${counter++}`);
      const r = await run(['package', chartDir, '-d', dest]);
      if (r.code !== 0) return { error: r.stderr.trim() };
      const [fileName] = await readdir(dest);
      if (!fileName) return { error: 'helm wrote no archive' };
      return { data: await readFile(join(dest, fileName)), fileName };
    },
    cleanup: () => rm(home, { recursive: true, force: true }),
  };
}
