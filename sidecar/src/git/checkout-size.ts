/**
 * The size of a working copy on disk, and its cap. A clone's objects are compressed and deduplicated
 * (20 identical 20 MB files are 164 KB in git) but its checkout is not: the cap bounds what a
 * sync leaves in the data dir. Measured after git wrote the files, because knowing the sizes
 * beforehand costs one more git process per sync; so the disk can still fill for the time of
 * one checkout, never for longer. What is counted is what entries take on disk, not their bytes:
 * one tree of an empty file used under 30,000 names is 244 KB in git, 41 bytes of files, and
 * 118 MB and 60,000 inodes on disk.
 */
import { createHash } from 'node:crypto';
import { lstatSync } from 'node:fs';
import { lstat, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { fsPath, readdirEntriesSync } from '../chart/byte-names.js';
import { formatSize } from '../config/size.js';
import { GitError } from './errors.js';

export const DEFAULT_MAX_CHECKOUT_SIZE = 1024 ** 3;

/**
 * Entries looked at between two turns of the event loop. The files were just written, so each
 * lstat is answered from the kernel's cache in microseconds: synchronous calls in slices cost a
 * quarter of promise-based ones (each a thread-pool round trip), and hold the loop a few ms.
 */
const SLICE = 200;

/**
 * The unit of the count: the usual block of Linux file systems (ext4, xfs, btrfs). Each file or
 * link takes at least one (an empty file still takes an inode, and typically a block), each
 * directory one: a checkout of many empty files in many directories is not free.
 */
export const BLOCK = 4096;

export interface CheckoutSize {
  /** What the entries take on disk, in blocks; the sum so far when the count stopped past the cap. */
  bytes: number;
  over: boolean;
  /**
   * A path of the checkout was longer than the file system takes in one call (ENAMETOOLONG):
   * git writes such paths (it works relative to each directory) but nothing here can read them,
   * so the checkout counts as over the cap, whatever its size.
   */
  pathTooLong?: boolean;
  /** Each directory's total by path and tree id, for the next count (when tree ids were given). */
  counted: Counted;
}

/** A directory's total, keyed by its tree id and path: the same tree elsewhere is counted anew. */
export type Counted = Record<string, number>;

/** What an update already knows: the tree id of every directory now, the totals of the last count. */
export interface KnownTrees {
  trees: Map<string, string>;
  before: Counted;
}

/**
 * What `dir` takes on disk, its `.git` left out: each file and symbolic link its lstat size
 * rounded up to whole BLOCKs, at least one (links are not followed: a link counts as itself),
 * each directory one BLOCK, `dir` itself included. The files themselves are asked, not git's
 * index: its size field is the size modulo 2^32. Stops as soon as the sum is over `cap`. With
 * `known`, a directory whose tree id and path are those of the last count is taken at its total
 * then (its own block included): git rewrites no file of a tree that stayed. A path too long to
 * ask about makes the checkout over the cap (`pathTooLong`), not an error.
 */
export async function measureCheckout(dir: string, cap: number, known?: KnownTrees): Promise<CheckoutSize> {
  const walk = { bytes: 0, seen: 0, counted: {} as Counted };
  const over = () => walk.bytes > cap;
  const visit = async (rel: string): Promise<void> => {
    const tree = known?.trees.get(rel);
    const key = tree === undefined ? undefined : countedKey(tree, rel);
    const total = key === undefined ? undefined : known?.before[key];
    const start = walk.bytes;
    if (total !== undefined) walk.bytes += total;
    else {
      walk.bytes += BLOCK;
      // names that are not UTF-8 kept as their bytes: any name git takes is a file to count
      for (const e of readdirEntriesSync(join(dir, rel))) {
        if (rel === '' && e.name === '.git') continue;
        const path = rel ? `${rel}/${e.name}` : e.name;
        // readdir's type is lstat's: a link to a directory is counted as a link, not walked into
        if (e.isDirectory()) await visit(path);
        else walk.bytes += blocks(lstatSync(fsPath(join(dir, path))).size);
        if (++walk.seen % SLICE === 0) await nextTurn();
        if (over()) return;
      }
    }
    if (key !== undefined) walk.counted[key] = walk.bytes - start;
  };
  try {
    await visit('');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENAMETOOLONG') throw err;
    return { bytes: walk.bytes, over: true, pathTooLong: true, counted: {} };
  }
  return { bytes: walk.bytes, over: over(), counted: walk.counted };
}

/** What a file of `size` bytes takes: whole blocks, at least one. */
function blocks(size: number): number {
  return Math.max(1, Math.ceil(size / BLOCK)) * BLOCK;
}

/**
 * Each directory's total as the last passing count found it, kept in the git dir: an update
 * then walks only the directories whose tree changed (a 100-chart checkout of ~1,700 files
 * costs ~20 ms to count whole, a 1,000-chart one ten times that).
 */
const COUNTED = 'chartsync-counted.json';

/**
 * The totals a passing count left, taken out of the git dir: a run stopped between moving the
 * working copy and counting it must leave none that no longer hold. Read before anything moves.
 */
export async function takeCounted(dir: string): Promise<Counted> {
  const file = join(dir, '.git', COUNTED);
  const text = await readFile(file, 'utf8').catch(() => undefined);
  if (text === undefined) return {};
  await rm(file, { force: true });
  try {
    const counted = JSON.parse(text) as unknown;
    return counted && typeof counted === 'object' ? (counted as Counted) : {};
  } catch {
    return {};
  }
}

/**
 * A directory's key among the totals: its tree id and a digest of its path. Fixed-size: paths
 * of thousands of bytes each would make the totals (and their file) grow with them.
 */
export function countedKey(tree: string, path: string): string {
  return `${tree} ${createHash('sha256').update(path).digest('base64url').slice(0, 22)}`;
}

/** How a checkout is measured: measureCheckout here, or the same on another thread. */
export type MeasureCheckout = (dir: string, cap: number, known?: KnownTrees) => Promise<CheckoutSize>;

/**
 * Refuses a checkout over `cap`: a GitError of kind `size` whose message names the sizes, the
 * setting that raises the cap and the repository's URL (its secrets removed), never a path; or,
 * for a path too long to measure, that problem (no cap would let it through).
 */
export async function checkCheckoutSize(
  /** The working copy, and what it is a checkout of (git's description, URL redacted). */
  o: { dir: string; what: string },
  commit: string,
  cap: number,
  known?: KnownTrees,
  measure: MeasureCheckout = measureCheckout,
): Promise<void> {
  const size = await measure(o.dir, cap, known).catch((err: NodeJS.ErrnoException) => {
    // fs errors name the path in the data dir: only their code is told
    throw new GitError('failed', `${o.what}: the checkout cannot be measured (${err.code})`);
  });
  if (!size.over) {
    if (known) await writeFile(join(o.dir, '.git', COUNTED), JSON.stringify(size.counted));
    return;
  }
  const at = `${o.what} at ${commit.slice(0, 12)}`;
  if (size.pathTooLong)
    throw new GitError(
      'size',
      `${at}: a path in the checkout is longer than the file system takes; it was removed`,
    );
  throw new GitError(
    'size',
    `${at} is larger than the checkout cap of ` +
      `${formatSize(cap)} (at least ${formatSize(size.bytes)}: counting stops past the cap); ` +
      'it was removed. Raise the cap with --max-checkout-size, maxCheckoutSize in the config file ' +
      'or CHARTSYNC_MAX_CHECKOUT_SIZE',
  );
}

/**
 * What the packs of git's object store take on disk (whole blocks each). A shallow fetch brings
 * about what the working copy holds, but a fetch of every branch and tag (an abbreviated commit
 * id, or a server that refuses a commit id: a hostile one does at will) brings whole histories,
 * and a server may send objects nobody asked for; none of it is in the working copy. Fetches
 * and clones keep what they receive as packs (session.ts: fetch.unpackLimit=1), so the pack
 * directory is the store's size: a few files to ask about, never the loose objects.
 */
export async function objectStoreSize(gitDir: string): Promise<number> {
  const dir = join(gitDir, 'objects', 'pack');
  const names = await readdir(dir).catch(() => [] as string[]);
  const sizes = await Promise.all(names.map((n) => lstat(join(dir, n)).then((st) => blocks(st.size))));
  return sizes.reduce((a, b) => a + b, 0);
}

/**
 * Refuses a checkout whose object store is over `cap` once compacted, as checkCheckoutSize does
 * a working copy: a GitError of kind `size` naming the sizes and the setting, never a path.
 * Over the cap, `compact` runs first (packs of earlier updates, objects nobody asked for: gone
 * at once); what the checkout's refs still need then counts.
 */
export async function checkObjectStoreSize(
  o: { dir: string; what: string },
  commit: string,
  cap: number,
  compact: () => Promise<unknown>,
): Promise<void> {
  const measure = () =>
    objectStoreSize(join(o.dir, '.git')).catch((err: NodeJS.ErrnoException) => {
      throw new GitError('failed', `${o.what}: the checkout cannot be measured (${err.code})`);
    });
  if ((await measure()) <= cap) return;
  await compact();
  const size = await measure();
  if (size <= cap) return;
  throw new GitError(
    'size',
    `${o.what} at ${commit.slice(0, 12)}: its git objects (${formatSize(size)}) are larger than ` +
      `the checkout cap of ${formatSize(cap)}; it was removed. An abbreviated commit id, or a server ` +
      'that does not serve a commit by its id, makes the checkout fetch every branch and tag with ' +
      'their history: pin a full commit id or a branch (only its tip is fetched), or raise the cap ' +
      'with --max-checkout-size, maxCheckoutSize in the config file or CHARTSYNC_MAX_CHECKOUT_SIZE',
  );
}
