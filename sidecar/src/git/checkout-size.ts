/**
 * The size of a working copy on disk, and its cap. A clone's objects are compressed and deduplicated
 * (20 identical 20 MB files are 164 KB in git) but its checkout is not: the cap bounds what a
 * sync leaves in the data dir. Measured after git wrote the files, because knowing the sizes
 * beforehand costs one more git process per sync; so the disk can still fill for the time of
 * one checkout, never for longer.
 */
import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { formatSize } from '../config/size.js';
import { GitError } from './errors.js';
import { describe } from './remote.js';

export const DEFAULT_MAX_CHECKOUT_SIZE = 1024 ** 3;

/**
 * Entries looked at between two turns of the event loop. The files were just written, so each
 * lstat is answered from the kernel's cache in microseconds: synchronous calls in slices cost a
 * quarter of promise-based ones (each a thread-pool round trip), and hold the loop a few ms.
 */
const SLICE = 200;

export interface CheckoutSize {
  /** The sum of the files' sizes, or the sum so far when the count stopped past the cap. */
  bytes: number;
  over: boolean;
}

/**
 * The sum of the lstat sizes of the files and symbolic links under `dir` (links are not
 * followed: a link counts as itself), its `.git` left out; directories count nothing. The
 * files themselves are asked, not git's index: its size field is the size modulo 2^32. Stops
 * as soon as the sum is over `cap`.
 */
export async function measureCheckout(dir: string, cap: number): Promise<CheckoutSize> {
  let bytes = 0;
  let seen = 0;
  const dirs = [dir];
  for (let d = dirs.pop(); d !== undefined && bytes <= cap; d = dirs.pop()) {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (d === dir && e.name === '.git') continue;
      const path = join(d, e.name);
      // readdir's type is lstat's: a link to a directory is counted as a link, not walked into
      if (e.isDirectory()) dirs.push(path);
      else bytes += lstatSync(path).size;
      if (++seen % SLICE === 0) await nextTurn();
      if (bytes > cap) break;
    }
  }
  return { bytes, over: bytes > cap };
}

/**
 * Refuses a checkout over `cap`: a GitError of kind `size` whose message names the sizes, the
 * setting that raises the cap and the repository's URL (its secrets removed), never a path.
 */
export async function checkCheckoutSize(
  o: { dir: string; url: string; ref?: string | undefined },
  commit: string,
  cap: number,
): Promise<void> {
  const size = await measureCheckout(o.dir, cap).catch((err: NodeJS.ErrnoException) => {
    // fs errors name the path in the data dir: only their code is told
    throw new GitError(
      'failed',
      `${describe('checkout', o.url, o.ref)}: the checkout cannot be measured (${err.code})`,
    );
  });
  if (!size.over) return;
  throw new GitError(
    'size',
    `${describe('checkout', o.url, o.ref)} at ${commit.slice(0, 12)} is larger than the checkout cap of ` +
      `${formatSize(cap)} (at least ${formatSize(size.bytes)}: counting stops past the cap); ` +
      'it was removed. Raise the cap with --max-checkout-size, maxCheckoutSize in the config file ' +
      'or CHARTSYNC_MAX_CHECKOUT_SIZE',
  );
}
