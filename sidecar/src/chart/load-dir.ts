/**
 * Loads a chart directory with helm's LoadDir semantics: a sorted walk honouring `.helmignore`
 * (plus helm's default `templates/.?*` rule), UTF-8 BOMs stripped, irregular files refused,
 * the per-file size cap, and symlinks followed like helm — but only while they stay inside the
 * chart directory: a link that leaves it is refused, so a chart cannot publish host files.
 */
import { lstatSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { readFile, realpath, stat } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { ChartError } from './errors.js';
import { HELMIGNORE, HelmignoreError, type IgnoreRules, parseHelmignore } from './helmignore.js';
import { MAX_DECOMPRESSED_FILE_SIZE } from './limits.js';
import { loadArchive } from './load-archive.js';
import { compareBytes, loadFiles, stripBom } from './load-files.js';
import type { ChartFile, LoadedChart } from './model.js';

export async function loadChartDir(dir: string): Promise<LoadedChart> {
  const source = resolve(dir);
  const root = await realpath(source).catch((err: NodeJS.ErrnoException) => {
    throw new ChartError(source, '.', `cannot open chart directory: ${err.code ?? err.message}`);
  });
  if (!(await stat(root)).isDirectory()) throw new ChartError(source, '.', 'not a directory');
  const rules = await readRules(root, source);
  const files: ChartFile[] = [];
  await walk({ root, source, rules, files }, root, '', [root]);
  return loadFiles(files, source, loadArchive);
}

interface WalkContext {
  root: string;
  source: string;
  rules: IgnoreRules;
  files: ChartFile[];
}

async function readRules(root: string, source: string): Promise<IgnoreRules> {
  const path = join(root, HELMIGNORE);
  const target = await insideRoot(root, path, source, HELMIGNORE).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (!target) return parseHelmignore(undefined);
  try {
    return parseHelmignore(await readFile(target, 'utf8'));
  } catch (err) {
    if (err instanceof HelmignoreError) throw new ChartError(source, HELMIGNORE, err.message, { cause: err });
    throw err;
  }
}

/** Resolves symlinks of `path` and refuses a target outside the chart directory. */
async function insideRoot(root: string, path: string, source: string, name: string): Promise<string> {
  const target = await realpath(path);
  if (!isInside(root, target)) {
    throw new ChartError(
      source,
      name,
      'symbolic link points outside the chart directory; refusing to follow it',
    );
  }
  return target;
}

/**
 * `realDir` is the resolved directory being read, `name` its chart-relative path;
 * `ancestors` are the resolved directories above it, to refuse symlink loops.
 */
async function walk(ctx: WalkContext, realDir: string, name: string, ancestors: string[]): Promise<void> {
  // Synchronous fs calls: chart files are small and many, and the promise round trips cost
  // more than the reads themselves.
  const entries = readdirSync(realDir).sort(compareBytes);
  for (const entry of entries) {
    const rel = name ? `${name}/${entry}` : entry;
    const path = join(realDir, entry);
    let info = lstatSync(path);
    let real = path;
    if (info.isSymbolicLink()) {
      real = linkTarget(ctx, path, rel);
      info = lstatSync(real);
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
    ctx.files.push({ name: rel, data: stripBom(readFileSync(real)) });
  }
}

function linkTarget(ctx: WalkContext, path: string, rel: string): string {
  let target: string;
  try {
    target = realpathSync(path);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new ChartError(ctx.source, rel, `cannot resolve symbolic link: ${e.code ?? e.message}`);
  }
  if (!isInside(ctx.root, target)) {
    throw new ChartError(
      ctx.source,
      rel,
      'symbolic link points outside the chart directory; refusing to follow it',
    );
  }
  return target;
}

function isInside(root: string, target: string): boolean {
  const rel = relative(root, target);
  return !(rel === '..' || rel.startsWith(`..${sep}`) || resolve(root, rel) !== target);
}
