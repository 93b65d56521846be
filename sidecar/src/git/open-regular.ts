/**
 * Opens a file of a local repository for reading: only a regular file, and not through a link.
 * A local repository's files are anyone's: a FIFO would hold the open (and the thread of the
 * pool it runs on, which not even exit frees) until something writes to it, and a link could
 * lead anywhere. Rejects (ELOOP, or not a regular file) otherwise.
 */
import { constants } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';

export async function openRegular(path: string): Promise<FileHandle> {
  const fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  if ((await fh.stat()).isFile()) return fh;
  await fh.close();
  throw new Error(`${path}: not a regular file`);
}
