/** `git daemon` serving every repository under a base path over git:// on 127.0.0.1 (or `host`). */

import { freePort, startDaemon, waitFor } from './proc.ts';
import { fixtureGit } from './repo.ts';

export interface GitDaemon {
  port: number;
  /** `git://<host>:<port>/<name>.git` */
  url: (name: string) => string;
  stop: () => Promise<void>;
  /** Serves again on the same port after stop() (a git server that comes back). */
  start: () => Promise<void>;
}

export async function startGitDaemon(basePath: string, host = '127.0.0.1'): Promise<GitDaemon> {
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    try {
      let stop: (() => Promise<void>) | undefined = await runDaemon(basePath, port, host);
      return {
        port,
        url: (name) => `git://${host}:${port}/${name}.git`,
        stop: async () => {
          await stop?.();
          stop = undefined;
        },
        start: async () => {
          stop ??= await runDaemon(basePath, port, host);
        },
      };
    } catch (err) {
      if (attempt >= 2) throw err;
    }
  }
}

/** Starts git daemon on `port` and waits until it answers; returns its stop(). */
async function runDaemon(basePath: string, port: number, host: string): Promise<() => Promise<void>> {
  const d = startDaemon('git', [
    'daemon',
    '--reuseaddr',
    '--export-all',
    '--informative-errors',
    `--base-path=${basePath}`,
    `--listen=${host}`,
    `--port=${port}`,
    basePath,
  ]);
  try {
    // ready when it answers the git protocol, not just accepts connections
    await waitFor(`git daemon on port ${port}`, async () => {
      if (d.child.exitCode !== null) throw new Error(d.output());
      return await fixtureGit(['ls-remote', `git://${host}:${port}/nonexistent.git`]).then(
        () => true,
        (e: Error) => /not exported|does not appear|not found|no such/i.test(e.message),
      );
    });
    return d.stop;
  } catch (err) {
    await d.stop();
    throw new Error(`git daemon did not start: ${(err as Error).message} ${d.output()}`);
  }
}
