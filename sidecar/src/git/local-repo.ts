/**
 * The on-disk half of the local repository rule (url-policy.ts has the part that needs no
 * disk): a local repository must not lead git into one of the policy's private directories
 * (the sidecar's data dir: other registrations' clones). Checked at registration and again
 * before every git command, since the disk can change in between.
 *
 * "Lead git into" is decided the way git reads a local repository, not by the path as text:
 * every spelling git tries for it (`p/.git`, `p`, `p.git/.git`, `p.git`), a `.git` file's
 * `gitdir:`, a worktree's `commondir`, object alternates (which git follows five deep), and the
 * symbolic links in those git and object directories (`objects/` itself, a pack file, `refs/`),
 * each resolved as the kernel resolves it (`lnk/..` is the parent of lnk's target, not
 * the directory lnk is in). Hard links are not links to resolve: making one to another user's
 * file takes owning it (Linux's protected_hardlinks).
 */
import { type Dirent, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join } from 'node:path';
import {
  checkGitUrl,
  insideAny,
  localRepoPaths,
  refused,
  transportPath,
  type UrlPolicy,
} from './url-policy.js';

/** How deep git follows alternates of alternates. */
const ALTERNATE_DEPTH = 5;
/** The most of a `.git` file, `commondir` or `alternates` file read. */
const SMALL_FILE = 64 * 1024;

/**
 * The whole policy for a repository URL about to be registered or handed to git: the URL's
 * form (url-policy.ts), then, for a local one, where on disk git would read it from.
 */
export function checkRepositoryUrl(url: string, policy: UrlPolicy): void {
  checkGitUrl(url, policy);
  checkLocalRepoOnDisk(url, policy);
}

/** Throws GitError 'policy' when git, given `url`, would read from a private directory. */
export function checkLocalRepoOnDisk(url: string, policy: UrlPolicy): void {
  const privateDirs = policy.privateDirs ?? [];
  if (privateDirs.length === 0) return;
  const paths = localRepoPaths(url);
  if (!paths) return;
  // both sides resolved: a private dir reached through a link of its own still counts
  const dirs = privateDirs.flatMap((d) => [d, realOrSelf(d)]);
  // a local clone reads the path as written, git's transport without its trailing slashes
  const spellings = new Set(paths.flatMap((p) => [p, transportPath(p)]));
  for (const path of spellings) {
    if (placesGitReads(path).some((place) => insideAny(place, dirs)))
      throw refused(
        url,
        "a local repository may not be inside the sidecar's data or storage directory (where git would read it from, links, .git files and alternates followed)",
      );
  }
}

/** Every place git may read the repository at `path` from, links resolved. */
function placesGitReads(path: string): string[] {
  const places: string[] = [];
  for (const candidate of [`${path}/.git`, path, `${path}.git/.git`, `${path}.git`]) {
    const real = realpath(candidate);
    if (real === undefined) continue;
    places.push(real);
    // a work tree is not read by git's transport, only a git dir (HEAD and objects/ in it)
    const gitDirs = (isFile(real) ? gitdirsOfFile(candidate, real) : [real]).filter(isGitDir);
    for (const gitDir of gitDirs) {
      const common = within(gitDir, readSmall(join(gitDir, 'commondir'))?.trim());
      const objectDirs = alternates(join(common ?? gitDir, 'objects'), ALTERNATE_DEPTH);
      const gitDirs = [gitDir, ...(common ? [common] : [])];
      // and wherever a link inside them leads (objects/, a pack file, refs/...)
      places.push(...gitDirs, ...objectDirs);
      places.push(...gitDirs.flatMap((d) => linkTargets(d, GIT_DIR_PARTS)));
      places.push(...objectDirs.flatMap((d) => linkTargets(d, OBJECT_DIR_PARTS)));
    }
  }
  // nothing there (yet): the nearest existing ancestor resolved, the rest as written
  if (places.length === 0) places.push(realOrSelf(path));
  return places;
}

/**
 * The git dir a `.git` file names (`gitdir: <path>`). A relative one is taken from the
 * directory the `.git` entry is in, and, should that entry be a link, from its target's too.
 */
function gitdirsOfFile(entry: string, real: string): string[] {
  const target = /^gitdir: (.+)$/m.exec(readSmall(real) ?? '')?.[1]?.trim();
  const dirs = [within(dirname(entry), target), within(dirname(real), target)];
  return dirs.filter((d): d is string => d !== undefined);
}

/** Where in a git dir a link leads git elsewhere: its own entries, objects/, packs, refs. */
const GIT_DIR_PARTS = ['', 'objects', 'objects/pack', 'objects/info', 'refs', 'refs/heads', 'refs/tags'];
/** The same in an object directory an alternate names. */
const OBJECT_DIR_PARTS = ['', 'pack', 'info'];

/**
 * The resolved targets of the symbolic links in those parts of `dir` (each resolved whole, none
 * followed further). Loose object files are not looked at: each is named by the id of content
 * only its owner knows, and a sync would walk thousands of them.
 */
function linkTargets(dir: string, parts: readonly string[]): string[] {
  const targets: string[] = [];
  for (const part of parts) {
    const d = part ? join(dir, part) : dir;
    let entries: Dirent[];
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const e of entries) {
      if (e.isSymbolicLink()) targets.push(realpath(join(d, e.name)) ?? join(d, e.name));
    }
  }
  return targets;
}

/** The object directories `objects/info/alternates` adds, and theirs, `depth` levels deep. */
function alternates(objects: string, depth: number): string[] {
  if (depth === 0) return [];
  const lines = (readSmall(join(objects, 'info', 'alternates')) ?? '').split('\n');
  const found: string[] = [];
  for (const line of lines.map((l) => l.trim()).filter((l) => l && !l.startsWith('#'))) {
    const dir = within(objects, line.replace(/^"(.*)"$/, '$1'));
    if (dir) found.push(dir, ...alternates(dir, depth - 1));
  }
  return found;
}

/** `target` (absolute, or relative to `base`) with its links resolved; undefined if absent. */
function within(base: string, target: string | undefined): string | undefined {
  if (!target) return undefined;
  // joined as text, not with path.join: `..` must apply after the links before it
  return realpath(isAbsolute(target) ? target : `${base}/${target}`);
}

function realpath(path: string): string | undefined {
  try {
    // the C library's: Node's own realpathSync drops `..` as text before resolving links
    return realpathSync.native(path);
  } catch {
    return undefined;
  }
}

function isGitDir(dir: string): boolean {
  return isFile(join(dir, 'HEAD')) || realpath(join(dir, 'objects')) !== undefined;
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function readSmall(file: string): string | undefined {
  try {
    if (statSync(file).size > SMALL_FILE) return undefined;
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * `path` with every link resolved; for a path that does not exist (yet), its nearest existing
 * ancestor resolved and the rest appended.
 */
function realOrSelf(path: string): string {
  const real = realpath(path);
  if (real !== undefined) return real;
  const parent = dirname(path);
  return parent === path ? path : join(realOrSelf(parent), basename(path));
}
