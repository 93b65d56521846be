/**
 * Removes a directory tree whatever its depth. A checkout can hold paths git writes fine (it
 * works relative to each directory) but that are longer than the 4096 bytes the kernel takes in
 * one call: fs.rm then fails ENAMETOOLONG and a clone dir would stay in the data dir for good.
 * `rm -rf` as a child is no way out: the image's rm (busybox on Alpine) builds whole paths too.
 */
import { randomBytes } from 'node:crypto';
import { readdir, rename, rm } from 'node:fs/promises';

/**
 * The longest path of a directory kept where it is while flattening: its entries' paths then stay
 * under PATH_MAX (4096) with a 255-byte name added, and so does the rename of one of them.
 */
const SHALLOW = 3000;

/** Removes `dir` and everything under it; a missing `dir` is not an error. */
export async function removeTree(dir: string): Promise<void> {
  try {
    await rm(dir, { recursive: true, force: true });
    return;
  } catch (err) {
    if (!tooDeep(err)) throw err;
  }
  await flatten(Buffer.from(dir));
  await rm(dir, { recursive: true, force: true });
}

/** What fs answers for a path past what it takes in one call. */
function tooDeep(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENAMETOOLONG' || code === 'ELOOP';
}

/**
 * Moves every directory whose path is longer than SHALLOW up to the top of `top` (under a new
 * name: the whole tree goes anyway), so that no path under `top` is too long for fs.rm. Byte
 * paths: names that are not UTF-8 are moved like any other.
 */
async function flatten(top: Buffer): Promise<void> {
  const pending = [top];
  for (let d = pending.pop(); d !== undefined; d = pending.pop()) {
    for (const e of await readdir(d, { withFileTypes: true, encoding: 'buffer' })) {
      if (!e.isDirectory()) continue; // a link is never followed: it goes as itself
      const path = Buffer.concat([d, Buffer.from('/'), e.name]);
      if (path.length <= SHALLOW) pending.push(path);
      else {
        const moved = Buffer.concat([top, Buffer.from(`/.deep-${randomBytes(8).toString('hex')}`)]);
        await rename(path, moved);
        pending.push(moved);
      }
    }
  }
}
