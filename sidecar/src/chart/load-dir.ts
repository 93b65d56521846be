/**
 * Loads a chart directory with helm's LoadDir semantics: a sorted walk honouring `.helmignore`
 * (plus helm's default `templates/.?*` rule), UTF-8 BOMs stripped, irregular files refused,
 * helm's per-file and per-chart size caps, and symlinks followed like helm — but confined
 * (secure-path.ts): the chart directory must resolve inside the root it is loaded from (the
 * checkout), and every file and directory of the chart inside the chart directory itself. The
 * chart's files are confined to the chart, not just the checkout, because a chart is rebuilt
 * when its own tree (or a `file://` dependency's) changes: a file reached from elsewhere
 * would go stale in the package.
 */
import { lstatSync, readFileSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, join, relative, resolve, sep } from 'node:path';
import { decodeName, fsPath, readdirNames } from './byte-names.js';
import { ChartError } from './errors.js';
import {
  HELMIGNORE,
  HelmignoreError,
  HelmignoreTooCostly,
  type IgnoreRules,
  parseHelmignore,
} from './helmignore.js';
import { CHART_TOO_LARGE, ChartSizeBudget, MAX_DECOMPRESSED_FILE_SIZE } from './limits.js';
import { loadArchive } from './load-archive.js';
import { loadFiles, stripBom } from './load-files.js';
import type { ChartFile, LoadedChart } from './model.js';
import { confine, confineSync, PathEscapeError, resolveRoot } from './secure-path.js';

const OUTSIDE_CHART = 'symbolic link points outside the chart directory; refusing to follow it';

/**
 * Loads the chart at `dir` (absolute, or relative to `root`), reading nothing outside `root`:
 * the checkout for a sync, the git work tree or the chart itself for `chartsync package`.
 */
export async function loadChartDir(root: string, dir: string): Promise<LoadedChart> {
  const path = resolve(root, dir);
  // Errors name the chart by its path in the root (until its name is known): a sync result
  // shows `charts/x`, never the sidecar's data dir.
  const source = relative(resolve(root), path).split(sep).join('/') || basename(path);
  const chartRoot = await chartDirectory(root, path, source);
  const rules = await readRules(chartRoot, source);
  const files: ChartFile[] = [];
  const ctx = { root: chartRoot, source, rules, files, budget: new ChartSizeBudget() };
  try {
    await walk(ctx, chartRoot, '', [chartRoot]);
  } catch (err) {
    if (err instanceof HelmignoreTooCostly) {
      throw new ChartError(source, HELMIGNORE, err.message, { reason: 'ChartTooLarge', cause: err });
    }
    throw err;
  }
  // Subchart archives unpack within the chart's own budget (limits.ts).
  return loadFiles(files, source, (data, inner) => loadArchive(data, inner, ctx.budget));
}

/** The resolved chart directory, refused when it lies outside the root or is not a directory. */
async function chartDirectory(root: string, path: string, source: string): Promise<string> {
  const fail = (err: NodeJS.ErrnoException): never => {
    if (err instanceof PathEscapeError) {
      throw new ChartError(source, '.', `the chart directory ${err.message}; refusing to load it`, {
        reason: 'PathEscapesCheckout',
        cause: err,
      });
    }
    throw new ChartError(source, '.', `cannot open chart directory: ${err.code ?? err.message}`);
  };
  const realRoot = await resolveRoot(root).catch(fail);
  const chartRoot = await confine(realRoot, path).catch(fail);
  if (!(await stat(fsPath(chartRoot)).catch(fail)).isDirectory())
    throw new ChartError(source, '.', 'not a directory');
  return chartRoot;
}

interface WalkContext {
  /** The resolved chart directory: nothing outside it is read. */
  root: string;
  source: string;
  rules: IgnoreRules;
  files: ChartFile[];
  budget: ChartSizeBudget;
}

async function readRules(root: string, source: string): Promise<IgnoreRules> {
  // errno failures (a link loop, a directory) name the file, never its host path
  const unreadable = (err: NodeJS.ErrnoException) =>
    new ChartError(source, HELMIGNORE, `cannot read: ${err.code ?? err.message}`, { cause: err });
  const target = await confine(root, HELMIGNORE).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    if (err instanceof PathEscapeError) {
      throw new ChartError(source, HELMIGNORE, OUTSIDE_CHART, { reason: 'PathEscapesCheckout', cause: err });
    }
    throw unreadable(err);
  });
  if (!target) return parseHelmignore(undefined);
  try {
    // Bytes that are not UTF-8 stay bytes: helm matches patterns and names bytewise.
    return parseHelmignore(decodeName(await readFile(fsPath(target))));
  } catch (err) {
    if (err instanceof HelmignoreError) throw new ChartError(source, HELMIGNORE, err.message, { cause: err });
    if (typeof (err as NodeJS.ErrnoException).code === 'string')
      throw unreadable(err as NodeJS.ErrnoException);
    throw err;
  }
}

/**
 * `realDir` is the resolved directory being read, `name` its chart-relative path;
 * `ancestors` are the resolved directories above it, to refuse symlink loops.
 */
async function walk(ctx: WalkContext, realDir: string, name: string, ancestors: string[]): Promise<void> {
  // Synchronous fs calls: chart files are small and many, and the promise round trips cost
  // more than the reads themselves. A name that is not UTF-8 keeps its bytes (byte-names.ts): it
  // still names its file, `.helmignore` may ignore it, and it is refused only if it would go into
  // the package (package.ts).
  let entries: string[];
  try {
    entries = readdirNames(realDir);
  } catch (err) {
    throw readFailure(ctx, name || '.', err);
  }
  for (const entry of entries) {
    const rel = name ? `${name}/${entry}` : entry;
    try {
      const path = join(realDir, entry);
      let info = lstatSync(fsPath(path));
      let real = path;
      if (info.isSymbolicLink()) {
        real = linkTarget(ctx, path, rel);
        info = lstatSync(fsPath(real));
      }
      if (info.isDirectory()) {
        if (ctx.rules.ignores(rel, true)) continue;
        if (ancestors.includes(real)) {
          throw new ChartError(
            ctx.source,
            rel,
            'symbolic link loop: the link points to a directory containing it',
          );
        }
        await walk(ctx, real, rel, [...ancestors, real]);
        continue;
      }
      if (ctx.rules.ignores(rel, false)) continue;
      if (!info.isFile()) {
        throw new ChartError(ctx.source, rel, 'cannot load irregular file (device, socket or pipe)');
      }
      if (info.size > MAX_DECOMPRESSED_FILE_SIZE) {
        throw new ChartError(
          ctx.source,
          rel,
          `file is larger than the maximum file size ${MAX_DECOMPRESSED_FILE_SIZE}`,
          { reason: 'ChartTooLarge' },
        );
      }
      // The same total cap as the archive loader: many files under the per-file cap must not add
      // up to a package that unpacks beyond what helm (and chartsync) will load.
      if (!ctx.budget.take(info.size))
        throw new ChartError(ctx.source, rel, CHART_TOO_LARGE, { reason: 'ChartTooLarge' });
      ctx.files.push(
        info.size >= LAZY_FILE_SIZE && !readAtLoad(rel)
          ? lazyFile(ctx, rel, real)
          : { name: rel, data: stripBom(readFileSync(fsPath(real))) },
      );
    } catch (err) {
      throw readFailure(ctx, rel, err);
    }
  }
}

/**
 * A file system call on the chart failed (EACCES, ENOENT: the tree changed under the walk): the
 * chart fails naming the file by its path in the chart, never by its host path. Other errors
 * (ChartErrors of the walk below) pass.
 */
function readFailure(ctx: WalkContext, rel: string, err: unknown): unknown {
  const e = err as NodeJS.ErrnoException;
  if (err instanceof ChartError || typeof e?.code !== 'string') return err;
  return new ChartError(ctx.source, rel, `cannot read: ${e.code}`, { cause: err });
}

/**
 * Files at least this large are read when the archive is written, one at a time, instead of all
 * being held from the walk on: a chart of many large files never sits in memory whole.
 */
const LAZY_FILE_SIZE = 256 * 1024;

/** Files the loader itself parses (or unpacks) are read at once. */
function readAtLoad(rel: string): boolean {
  return !rel.includes('/') || (rel.startsWith('charts/') && rel.endsWith('.tgz'));
}

/** A file whose bytes are read from disk on each use, still within the per-file cap. */
function lazyFile(ctx: WalkContext, name: string, path: string): ChartFile {
  return {
    name,
    get data(): Buffer {
      let data: Buffer;
      try {
        data = readFileSync(fsPath(path));
      } catch (err) {
        throw readFailure(ctx, name, err);
      }
      if (data.length > MAX_DECOMPRESSED_FILE_SIZE) {
        throw new ChartError(
          ctx.source,
          name,
          `file is larger than the maximum file size ${MAX_DECOMPRESSED_FILE_SIZE}`,
          {
            reason: 'ChartTooLarge',
          },
        );
      }
      return stripBom(data);
    },
  };
}

function linkTarget(ctx: WalkContext, path: string, rel: string): string {
  try {
    return confineSync(ctx.root, path, 'the chart directory');
  } catch (err) {
    if (err instanceof PathEscapeError) {
      throw new ChartError(ctx.source, rel, OUTSIDE_CHART, { reason: 'PathEscapesCheckout', cause: err });
    }
    const e = err as NodeJS.ErrnoException;
    throw new ChartError(ctx.source, rel, `cannot resolve symbolic link: ${e.code ?? e.message}`);
  }
}
