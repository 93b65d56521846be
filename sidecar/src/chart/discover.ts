/**
 * Finds the charts of a repository: every directory holding Chart.yaml, except directories
 * inside another chart (subcharts ship inside their parent). `paths` entries are resolved with
 * their links and must stay inside the checkout (secure-path.ts); the scan then lists the
 * resolved directories and never follows a symlinked directory (nor `.git`), so every chart
 * directory found is a real directory of the checkout.
 *
 * Names keep their bytes (byte-names.ts): a directory whose name is not UTF-8 is no chart
 * location the API can name (results, state and `paths` are text), so it is skipped with its
 * subtree (reported through `onSkip`), and the rest of the repository is discovered as usual.
 */
import { stat } from 'node:fs/promises';
import { isAbsolute, posix, relative, sep } from 'node:path';
import { compareBytes, fsPath, isUtf8Name, type NamedEntry, readdirEntries, showName } from './byte-names.js';
import { confine, PathEscapeError, resolveRoot } from './secure-path.js';

export class DiscoveryError extends Error {
  /**
   * `escape`: a `paths` entry leads outside the checkout; `missing`: it names no directory;
   * `unreadable`: a directory of the checkout cannot be listed (the message names it in the
   * checkout, never by its host path).
   */
  readonly kind: 'escape' | 'missing' | 'unreadable';
  constructor(message: string, kind: 'escape' | 'missing' | 'unreadable' = 'missing') {
    super(message);
    this.name = 'DiscoveryError';
    this.kind = kind;
  }
}

export interface DiscoverOptions {
  /** Told of each directory skipped because its name is not UTF-8 (checkout-relative, `\xNN`). */
  onSkip?: (dir: string) => void;
}

/** Chart directories relative to `root` (forward slashes, `.` for the root itself), sorted. */
export async function discoverCharts(
  root: string,
  paths?: string[],
  opts: DiscoverOptions = {},
): Promise<string[]> {
  const realRoot = await resolveRoot(root);
  const starts = paths && paths.length > 0 ? paths : ['.'];
  const found = new Set<string>();
  for (const start of starts) {
    for (const chart of await scan(realRoot, await startDir(realRoot, start), opts)) found.add(chart);
  }
  return dropNested([...found].sort(compareBytes));
}

/**
 * A `paths` entry as the directory it really is, relative to the checkout: refused when it
 * leaves the checkout, lexically (`..`, absolute) or through a committed symlink (`esc -> /`).
 */
async function startDir(root: string, p: string): Promise<string> {
  const normal = posix.normalize(p.replaceAll('\\', '/')).replace(/\/+$/, '') || '.';
  if (isAbsolute(p) || normal === '..' || normal.startsWith('../')) {
    throw new DiscoveryError(`path ${JSON.stringify(p)} leaves the repository`, 'escape');
  }
  if (normal === '.git' || normal.startsWith('.git/'))
    throw new DiscoveryError(`path ${JSON.stringify(p)} is inside .git, not the work tree`);
  const real = await confine(root, normal).catch((err: NodeJS.ErrnoException) => {
    if (err instanceof PathEscapeError) {
      throw new DiscoveryError(
        `path ${JSON.stringify(p)} leaves the repository through a symbolic link`,
        'escape',
      );
    }
    return undefined;
  });
  if (!real || !(await stat(fsPath(real)).catch(() => undefined))?.isDirectory())
    throw new DiscoveryError(`path ${JSON.stringify(normal)} is not a directory in the repository`);
  const rel = relative(root, real).split(sep).join('/') || '.';
  if (!isUtf8Name(rel)) {
    throw new DiscoveryError(
      `path ${JSON.stringify(normal)} leads to ${showName(rel)}, whose name is not valid UTF-8`,
    );
  }
  return rel;
}

async function scan(root: string, rel: string, opts: DiscoverOptions): Promise<string[]> {
  const entries = await list(rel === '.' ? root : `${root}/${rel}`, rel);
  // Any entry named Chart.yaml marks a chart, even one that is not a file: loading it then fails
  // with a clear error, instead of the chart silently vanishing (and being pruned).
  if (entries.some((e) => e.name === 'Chart.yaml')) return [rel];
  // Dirent types come from lstat: a symlinked directory is not a directory here.
  const dirs: string[] = [];
  for (const e of entries) {
    if (!e.isDirectory() || e.name === '.git') continue;
    if (isUtf8Name(e.name)) dirs.push(e.name);
    else opts.onSkip?.(showName(rel === '.' ? e.name : `${rel}/${e.name}`));
  }
  dirs.sort(compareBytes);
  // Sibling directories are listed at once: one after the other, each listing waits a thread
  // pool round trip, which made this walk ~20 ms for 100 charts (~2.5 ms at once).
  const nested = await Promise.all(dirs.map((d) => scan(root, rel === '.' ? d : `${rel}/${d}`, opts)));
  return nested.flat();
}

/**
 * A directory's entries, names decoded as byte-names.ts does (listed as bytes only when a name
 * shows U+FFFD: cheaper). A failure names the directory in the checkout, not on the host.
 */
async function list(dir: string, rel: string): Promise<NamedEntry[]> {
  try {
    return await readdirEntries(dir);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new DiscoveryError(
      `cannot list ${JSON.stringify(rel)} in the checkout: ${e.code ?? e.message}`,
      'unreadable',
    );
  }
}

/** With overlapping `paths`, a chart found inside another one is a subchart. */
function dropNested(sorted: string[]): string[] {
  return sorted.filter((c) => !sorted.some((p) => p !== c && (p === '.' || c.startsWith(`${p}/`))));
}
