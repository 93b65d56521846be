/** `chartsync package <chart-dir>...`: packages charts exactly like `helm package`, reproducibly. */
import { randomBytes } from 'node:crypto';
import { mkdir, realpath, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { BuildPool, type BuildTask, buildInProcess } from '../build/index.js';
// Narrow imports, not the chart engine's index: this thread only hands charts to build threads,
// and every module it loads delays the first build.
import { ChartError } from '../chart/errors.js';
import { gitRootFinder } from '../chart/git-root.js';
import type { DependencyRepository, StagedChart } from '../chart/model.js';
import { chartMtime, FIXED_EPOCH, sourceDateEpoch } from '../chart/mtime.js';
import { isInside } from '../chart/secure-path.js';
import { fsyncDir, moveFileAtomic } from '../storage/atomic-file.js';
import { mapLimit } from '../sync/pool.js';
import { fail, parseCommandArgs } from './args.js';
import {
  REPO_FLAG_OPTIONS,
  REPO_FLAGS_HELP,
  type RepoFlagValues,
  repositoriesFromFlags,
} from './repo-flags.js';

export const PACKAGE_USAGE = `Usage: chartsync package <chart-dir>... [-d|--destination DIR] [--dependency-update] [--repo NAME=URL]...
                        [--mirror-of NAME=URL]... [--ca-file NAME=FILE]... [--plain-http NAME]... [--root DIR]

Packages each chart directory into DIR/<name>-<version>.tgz with the content \`helm package\`
produces, and prints one line per chart: <name>-<version>.tgz sha256:<digest>.
Archives are reproducible: entry times come from SOURCE_DATE_EPOCH, else from the last git
commit touching the chart directory, else 1980-01-01T00:00:00Z; never from the clock.
Nothing outside the root is read: symbolic links and file:// dependencies that resolve outside
it are refused.

  -d, --destination DIR     where to write the archives (default: .)
  -u, --dependency-update   resolve dependencies (file://, vendored charts/, repositories) first
${REPO_FLAGS_HELP}
      --root DIR            the directory every read must stay in (default: the git work tree
                            holding the chart, else the chart directory itself)
OCI registries, for every registry: CHARTSYNC_OCI_CA_FILE (extra CA bundle), CHARTSYNC_OCI_PLAIN_HTTP (host:port,...).
  -h, --help                show this help
`;

const OPTIONS = {
  destination: { type: 'string', short: 'd', default: '.' },
  'dependency-update': { type: 'boolean', short: 'u', default: false },
  ...REPO_FLAG_OPTIONS,
  root: { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

/** More charts in flight than build threads: git look-ups for mtimes overlap the builds. */
const IN_FLIGHT_PER_THREAD = 2;

export async function packageCommand(argv: string[]): Promise<number> {
  const args = parseCommandArgs(argv, OPTIONS, PACKAGE_USAGE);
  if (!args) return 2;
  if (args.values.help) {
    process.stdout.write(PACKAGE_USAGE);
    return 0;
  }
  if (args.positionals.length === 0) return fail('package needs at least one chart directory (see --help)');
  let repositories: DependencyRepository[];
  let epoch: Date | undefined;
  try {
    repositories = await repositoriesFromFlags(args.values as RepoFlagValues);
    epoch = sourceDateEpoch();
  } catch (err) {
    return fail((err as Error).message);
  }
  const destination = resolve(args.values.destination as string);
  await mkdir(destination, { recursive: true });
  const holder = args.positionals.length > 1 ? await chartHolding(destination, args.positionals) : undefined;
  if (holder !== undefined) {
    return fail(
      `the destination ${args.values.destination} is inside the chart directory ${holder}: the other charts' archives (and temporary files) would land in it while it is packaged, so its package would depend on timing; choose a destination outside the charts`,
    );
  }
  const dependencyUpdate = args.values['dependency-update'] as boolean;
  const root = args.values.root as string | undefined;

  // Several charts: packaged in parallel on build threads (no time box: the user is watching).
  // One chart: in this thread, which spares starting one.
  const pool = args.positionals.length > 1 ? new BuildPool({ timeoutMs: 0, eager: true }) : undefined;
  const build = (task: BuildTask) => (pool ? pool.build(task) : buildInProcess(task));
  const inFlight = (pool?.threads ?? 1) * IN_FLIGHT_PER_THREAD;
  const findGitRoot = gitRootFinder();
  // Names this call to the build threads, so that its charts share what dependency resolution
  // looks up (an index is fetched once per thread, not once per chart: tasks reach a thread as
  // copies, so the shared `repositories` array cannot identify the run there; run-cache.ts).
  const runId = randomBytes(8).toString('hex');
  const built = await mapLimit(args.positionals, inFlight, (dir) =>
    settle(async () => {
      const gitRoot = await findGitRoot(dir);
      const mtime = epoch ?? (gitRoot ? await chartMtime(dir) : FIXED_EPOCH);
      const repoRoot = resolve(root ?? gitRoot ?? dir);
      // Written under a hidden temp name, then renamed: a reader never sees half an archive.
      const out = join(destination, `.chartsync-${randomBytes(6).toString('hex')}.tmp`);
      const task = {
        dir: resolve(dir),
        out,
        mtime: mtime.getTime(),
        dependencyUpdate,
        repositories,
        repoRoot,
        runId,
      };
      try {
        return { packaged: await build(task), out };
      } catch (err) {
        await rm(out, { force: true });
        throw err;
      }
    }),
  ).finally(() => pool?.close());
  const results = await publish(built, args.positionals, destination);
  await fsyncDir(destination);
  let failed = 0;
  results.forEach((r, i) => {
    if (r.ok) process.stdout.write(`${r.value.fileName} sha256:${r.value.digest}\n`);
    else {
      failed++;
      process.stderr.write(`chartsync: ${describe(args.positionals[i] as string, r.error)}\n`);
    }
  });
  return failed > 0 ? 1 : 0;
}

/**
 * The chart directory (of several packaged in parallel) that `destination` lies in, if any;
 * links resolved. One chart packaging into itself is fine: it is read before its archive is
 * written.
 */
async function chartHolding(destination: string, dirs: string[]): Promise<string | undefined> {
  const real = (p: string) => realpath(p).catch(() => resolve(p));
  const dest = await real(destination);
  for (const dir of dirs) if (isInside(await real(dir), dest)) return dir;
  return undefined;
}

function describe(dir: string, err: unknown): string {
  if (err instanceof ChartError) return `${dir}: ${err.message}`;
  const e = err as NodeJS.ErrnoException;
  return `${dir}: ${e.code ? `${e.code}: ` : ''}${e.message ?? String(err)}`;
}

/**
 * Moves each archive to its name, in the order the charts were given. Two charts with the same
 * name and version would write the same file: the first keeps it, the others fail instead of
 * silently replacing it (the printed digests would otherwise name an archive that is not there).
 * Renames happen only once every chart is built, so which chart wins does not depend on timing.
 */
async function publish(
  built: Result<{ packaged: StagedChart; out: string }>[],
  dirs: string[],
  destination: string,
): Promise<Result<StagedChart>[]> {
  const owner = new Map<string, string>();
  const results: Result<StagedChart>[] = [];
  for (const [i, r] of built.entries()) {
    if (!r.ok) {
      results.push(r);
      continue;
    }
    const { packaged, out } = r.value;
    const first = owner.get(packaged.fileName);
    const result = await settle(async () => {
      if (first !== undefined) {
        throw new Error(
          `${packaged.fileName} is also the package of ${first} (same chart name and version): not overwritten`,
        );
      }
      // the destination directory is synced once, after the last rename
      await moveFileAtomic(out, join(destination, packaged.fileName), 0o644, { syncDir: false });
      owner.set(packaged.fileName, dirs[i] as string);
      return packaged;
    });
    if (!result.ok) await rm(out, { force: true });
    results.push(result);
  }
  return results;
}

type Result<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** Each chart's outcome on its own: one failure does not stop the others. */
async function settle<T>(run: () => Promise<T>): Promise<Result<T>> {
  try {
    return { ok: true, value: await run() };
  } catch (error) {
    return { ok: false, error };
  }
}
