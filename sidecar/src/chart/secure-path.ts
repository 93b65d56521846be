/**
 * Path confinement: the one place that decides whether a path chartsync is about to read lies
 * inside the directory it may read from (the checkout of a registration, or the git work tree /
 * chart directory of `chartsync package`). Modelled on Flux source-controller's secure chart
 * loader: the root is given with every load, every path is resolved with all its symbolic links
 * and `..` (realpath), and a result outside the root is refused instead of followed. Callers
 * read from the resolved path this returns, never from the unresolved one, so a link cannot be
 * followed by one call after another call checked it.
 *
 * Hard links are not links to resolve: a git checkout never holds one (git writes every file
 * anew), and test/security checks that.
 */
import { realpathSync } from 'node:fs';
import { realpath } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { decodeName, fsPath } from './byte-names.js';

/** A path resolves outside the root it must stay in. */
export class PathEscapeError extends Error {
  /** The path as the input named it (relative to the root), for messages. */
  readonly path: string;
  constructor(path: string, what: string) {
    super(`${JSON.stringify(path)} resolves outside ${what}`);
    this.name = 'PathEscapeError';
    this.path = path;
  }
}

/** Whether the resolved `target` is `root` itself or below it (both already resolved). */
export function isInside(root: string, target: string): boolean {
  const rel = relative(root, target);
  if (rel === '') return true;
  return !(rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel));
}

/** The root itself, resolved once (a root given through a link is fine: it is the caller's). */
export function resolveRoot(dir: string): Promise<string> {
  return realpath(resolve(dir));
}

/**
 * `path` (relative to `root`, or absolute) with every link resolved; PathEscapeError when that
 * lands outside `root`, which must be resolved already (resolveRoot). Missing paths reject with
 * the file system's error (ENOENT), which callers report as such.
 */
export async function confine(root: string, path: string, what = 'the checkout'): Promise<string> {
  // By bytes: a name on the way (or in a link's target) need not be UTF-8 (byte-names.ts).
  const real = decodeName(await realpath(fsPath(resolve(root, path)), { encoding: 'buffer' }));
  if (!isInside(root, real)) throw new PathEscapeError(shown(root, path), what);
  return real;
}

/** confine() for the synchronous directory walk. */
export function confineSync(root: string, path: string, what = 'the checkout'): string {
  const real = decodeName(realpathSync(fsPath(resolve(root, path)), { encoding: 'buffer' }));
  if (!isInside(root, real)) throw new PathEscapeError(shown(root, path), what);
  return real;
}

/** `path` relative to the root when it was given absolute: messages never show host paths. */
function shown(root: string, path: string): string {
  if (!isAbsolute(path)) return path;
  const rel = relative(root, path);
  return rel.split(sep).join('/') || '.';
}
