/**
 * `chartsync sync`: one sync of one git repository into a storage dir, for pipelines. State is
 * kept under `<storage-dir>/.chartsync`, so running it again only rebuilds what changed.
 */

import { isAbsolute, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ApiError, type SyncResult } from '@chartsync/api';
import type { DependencyRepository } from '../chart/model.js';
import { localRepoPaths } from '../git/index.js';
import { createLogger } from '../log/logger.js';
import { LocalPublisher } from '../publish/local.js';
import { repoRegistration } from '../registry/registration.js';
import { RegistryStore, type RepoRecord } from '../registry/store.js';
import { SyncService } from '../sync/service.js';
import { REPO_FLAG_OPTIONS, REPO_FLAGS_HELP, repositoriesFromFlags } from './repo-flags.js';

export const SYNC_USAGE = `Usage: chartsync sync --name NAME --git URL [--ref REF] [--path P]... --storage-dir DIR
                      [--repo NAME=URL]... [--mirror-of NAME=URL]... [--ca-file NAME=FILE]...
                      [--plain-http NAME]... [--json]

Syncs the charts of one git repository into DIR/NAME/ (ChartMuseum --depth=1 layout plus
index.yaml), once. Only charts whose sources changed since the last run are rebuilt.
  --name NAME        repository name (DNS-1123 label)
  --git URL          git URL (https, ssh, git@host:path, http, git, file:// or a local path)
  --ref REF          branch, tag or commit (default: the remote HEAD)
  --path P           only look for charts under P (repeatable)
${REPO_FLAGS_HELP}
  --no-prune         keep charts that were removed from git
  --json             print the sync result as JSON
Credentials: GIT_USERNAME / GIT_PASSWORD (HTTPS) or GIT_SSH_KEY_FILE (+ GIT_KNOWN_HOSTS_FILE).
`;

const FLAGS = {
  name: { type: 'string' },
  git: { type: 'string' },
  ref: { type: 'string' },
  path: { type: 'string', multiple: true },
  'storage-dir': { type: 'string' },
  ...REPO_FLAG_OPTIONS,
  'no-prune': { type: 'boolean' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function syncCommand(argv: string[]): Promise<number> {
  let values: ReturnType<typeof parseArgs<{ args: string[]; options: typeof FLAGS }>>['values'];
  try {
    values = parseArgs({ args: argv, options: FLAGS, strict: true }).values;
  } catch (err) {
    return usageError((err as Error).message);
  }
  if (values.help) {
    process.stdout.write(SYNC_USAGE);
    return 0;
  }
  if (!values['storage-dir']) return usageError('--storage-dir is required');
  const storageDir = resolve(values['storage-dir']);
  const dataDir = join(storageDir, '.chartsync');
  // The person running the command chose the URL: local and plain-text transports are allowed,
  // a relative path meaning one from here (git itself runs in the checkout directory).
  const policy = { allowLocal: true, allowInsecure: true, privateDirs: [storageDir] };
  let repo: RepoRecord;
  let dependencies: DependencyRepository[];
  try {
    // the same registration path as the API and the config file; flags are named like fields
    repo = repoRegistration(
      {
        name: values.name,
        git: absoluteLocal(values.git),
        ref: values.ref,
        paths: values.path,
        prune: !values['no-prune'],
        ...(await credentialsFromEnv()),
      },
      policy,
    );
    dependencies = await repositoriesFromFlags(values);
  } catch (err) {
    return usageError((err as Error).message);
  }
  // stdout carries the result only (machine-readable with --json): logs go to stderr
  const logger = createLogger({ level: process.env.LOG_LEVEL ?? 'warn', destination: process.stderr });
  const registry = new RegistryStore(dataDir);
  await registry.load();
  const service = new SyncService({
    dataDir,
    registry,
    publisher: new LocalPublisher(storageDir),
    policy,
    logger,
  });
  await service.init();
  try {
    for (const dep of dependencies) await service.upsertDependency(dep);
    const result = await service.upsertRepo(repo);
    process.stdout.write(values.json ? `${JSON.stringify(result, null, 2)}\n` : describe(result));
    return result.charts.some((c) => c.action === 'failed' || c.action === 'conflict') ? 1 : 0;
  } catch (err) {
    const e = err instanceof ApiError ? err : new ApiError('internal', (err as Error).message);
    process.stderr.write(`chartsync sync: ${e.code} (${e.reason}): ${e.message}\n`);
    return 1;
  } finally {
    await service.shutdown();
  }
}

async function credentialsFromEnv(): Promise<Record<string, string>> {
  const { readFile } = await import('node:fs/promises');
  const env = process.env;
  return {
    ...(env.GIT_USERNAME ? { username: env.GIT_USERNAME } : {}),
    ...(env.GIT_PASSWORD ? { password: env.GIT_PASSWORD } : {}),
    ...(env.GIT_SSH_KEY_FILE ? { sshKey: await readFile(env.GIT_SSH_KEY_FILE, 'utf8') } : {}),
    ...(env.GIT_KNOWN_HOSTS_FILE ? { knownHosts: await readFile(env.GIT_KNOWN_HOSTS_FILE, 'utf8') } : {}),
  };
}

function describe(result: SyncResult): string {
  const lines = result.charts.map((c) => {
    const id = c.version ? `${c.name}-${c.version}.tgz` : c.name;
    const digest = c.digest ? ` sha256:${c.digest}` : '';
    return `${c.action.padEnd(9)} ${id}${digest}${c.error ? `  (${c.error})` : ''}`;
  });
  lines.push(
    `${result.name}: commit ${result.commit.slice(0, 12)}, ${result.changed ? 'changed' : 'no change'}, ${result.durationMs} ms`,
  );
  return `${lines.join('\n')}\n`;
}

function usageError(message: string): number {
  process.stderr.write(`chartsync sync: ${message}\n\n${SYNC_USAGE}`);
  return 2;
}

/** A relative local repository path made absolute from the working directory; anything else as is. */
function absoluteLocal(git: string | undefined): string | undefined {
  if (git === undefined) return undefined;
  try {
    // joined as text: git resolves `lnk/..` after the link, path.resolve would drop both first
    return localRepoPaths(git) && !/^file:/i.test(git) && !isAbsolute(git) ? `${process.cwd()}/${git}` : git;
  } catch {
    return git; // refused, with its reason, by the registration
  }
}
