/**
 * Real git servers for tests: bare repositories with scripted history (file://), `git daemon`
 * (git://), `git http-backend` behind a node server with basic auth (smart HTTP) and OpenSSH's
 * sshd (ssh://), all on 127.0.0.1, each with a stop() that ends every process it started.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { type GitDaemon, startGitDaemon } from './git/daemon.ts';
import { type HttpGitOptions, type HttpGitServer, startHttpGitServer } from './git/http.ts';
import { type FixtureRepo, RepoRoot } from './git/repo.ts';
import { SSHD, type SshGitServer, startSshGitServer } from './git/ssh.ts';
import { tempDir } from './paths.ts';

export { loggedGitCommands } from './git/commands.ts';
export { freePort, waitFor } from './git/proc.ts';
export { FixtureRepo, fixtureGit, RepoRoot } from './git/repo.ts';
export { type Cert, selfSignedCert } from './git/tls.ts';
export type { GitDaemon, HttpGitOptions, HttpGitServer, SshGitServer };
export { SSHD, startGitDaemon, startHttpGitServer, startSshGitServer };

/** `file://` URL of a fixture repository. */
export function fileUrl(repo: FixtureRepo): string {
  return `file://${repo.bare}`;
}

export interface GitServers {
  /** Temp dir holding everything; removed by stop(). */
  dir: string;
  repos: RepoRoot;
  daemon?: GitDaemon;
  http?: HttpGitServer;
  ssh?: SshGitServer;
  stop: () => Promise<void>;
}

export interface GitServersOptions {
  daemon?: boolean;
  http?: boolean | HttpGitOptions;
  ssh?: boolean;
}

/** A repository root plus the servers asked for, all exporting it. */
export async function startGitServers(o: GitServersOptions = {}): Promise<GitServers> {
  const tmp = await tempDir('chartsync-gitsrv-');
  const repos = new RepoRoot(join(tmp.path, 'repos'));
  const stops: (() => Promise<void>)[] = [];
  const stop = async () => {
    await Promise.allSettled(stops.map((s) => s()));
    await tmp.cleanup();
  };
  try {
    await mkdir(repos.path, { recursive: true });
    const servers: GitServers = { dir: tmp.path, repos, stop };
    if (o.daemon) {
      servers.daemon = await startGitDaemon(repos.path);
      stops.push(servers.daemon.stop);
    }
    if (o.http) {
      servers.http = await startHttpGitServer(repos.path, o.http === true ? {} : o.http);
      stops.push(servers.http.stop);
    }
    if (o.ssh) {
      servers.ssh = await startSshGitServer(join(tmp.path, 'sshd'));
      stops.push(servers.ssh.stop);
    }
    return servers;
  } catch (err) {
    await stop();
    throw err;
  }
}
