/**
 * A commit's committer time and root tree, read from the object store without a git process.
 * A sync needs both right after its fetch, and a spawn costs the sidecar's event loop ~3 ms
 * (more under load): most fetches bring the commit whole, in a pack or as a loose object,
 * where it can be read directly. Whatever this reader does not handle (a commit stored as a
 * delta, SHA-256 repositories, an idx it does not know, anything inconsistent) gives
 * undefined, and the caller asks git. Reads are bounded: a few KiB of an idx per pack, one
 * window of the pack file, objects up to MAX_COMMIT_SIZE.
 */
import type { FileHandle } from 'node:fs/promises';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { constants, inflateSync } from 'node:zlib';
import { openRegular } from './open-regular.js';

export interface CommitInfo {
  /** Committer time. */
  time: Date;
  /** Root tree id. */
  tree: string;
}

/** Commits larger than this (huge messages or headers) are left to git. */
const MAX_COMMIT_SIZE = 256 * 1024;
const SHA1 = /^[0-9a-f]{40}$/;
const IDX_MAGIC = 0xff744f63; // "\377tOc"
const OBJ_COMMIT = 1;

/** The commit `sha` of the repository whose git dir is `gitDir`, or undefined (ask git). */
export async function readCommitInfo(gitDir: string, sha: string): Promise<CommitInfo | undefined> {
  if (!SHA1.test(sha)) return undefined;
  try {
    const raw = (await looseObject(gitDir, sha)) ?? (await packedObject(gitDir, sha));
    return raw === undefined ? undefined : parseCommit(raw);
  } catch {
    return undefined;
  }
}

/** `tree` and committer time out of a commit object's text; undefined if either is missing. */
export function parseCommit(raw: Buffer): CommitInfo | undefined {
  const text = raw.subarray(0, Math.max(0, raw.indexOf('\n\n'))).toString('utf8');
  let tree: string | undefined;
  let seconds: number | undefined;
  for (const line of text.split('\n')) {
    const t = /^tree ([0-9a-f]{40})$/.exec(line);
    if (t && tree === undefined) tree = t[1];
    // the time is the last-but-one field, after the email's closing bracket; like git, the
    // last committer line counts (continuation lines of other headers start with a space)
    const c = /^committer .*> (\d{1,15}) [+-]\d{4}$/.exec(line);
    if (c) seconds = Number(c[1]);
  }
  if (tree === undefined || seconds === undefined) return undefined;
  const time = new Date(seconds * 1000);
  // a time JavaScript cannot hold is left to git's own reading of it
  return Number.isNaN(time.getTime()) ? undefined : { time, tree };
}

async function looseObject(gitDir: string, sha: string): Promise<Buffer | undefined> {
  // a file this large holds no commit this reader takes: never read it whole
  const limit = MAX_COMMIT_SIZE * 2 + 1024;
  const path = join(gitDir, 'objects', sha.slice(0, 2), sha.slice(2));
  const data = await withFile(path, (fh) => readAt(fh, 0, limit + 1, true)).catch(() => undefined);
  if (data === undefined || data.length > limit) return undefined;
  const object = inflateSync(data, { maxOutputLength: MAX_COMMIT_SIZE + 64 });
  const nul = object.indexOf(0);
  const header = object.subarray(0, nul).toString('latin1');
  const m = /^commit (\d+)$/.exec(header);
  if (!m || Number(m[1]) !== object.length - nul - 1) return undefined;
  return object.subarray(nul + 1);
}

async function packedObject(gitDir: string, sha: string): Promise<Buffer | undefined> {
  const dir = join(gitDir, 'objects', 'pack');
  const idxFiles = (await readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith('.idx'));
  for (const idx of idxFiles) {
    const offset = await offsetInPack(join(dir, idx), sha);
    if (offset !== undefined) return readPacked(join(dir, `${idx.slice(0, -4)}.pack`), offset);
  }
  return undefined;
}

/** The object's offset in the pack, from a version 2 pack index; undefined if not in it. */
async function offsetInPack(idxPath: string, sha: string): Promise<number | undefined> {
  return withFile(idxPath, async (fh) => {
    const head = await readAt(fh, 0, 8 + 256 * 4);
    if (head.readUInt32BE(0) !== IDX_MAGIC || head.readUInt32BE(4) !== 2) throw new Error('idx');
    const first = Number.parseInt(sha.slice(0, 2), 16);
    const count = head.readUInt32BE(8 + 255 * 4);
    const lo = first === 0 ? 0 : head.readUInt32BE(8 + (first - 1) * 4);
    const hi = head.readUInt32BE(8 + first * 4);
    if (lo > hi || hi > count) throw new Error('idx');
    const names = await readAt(fh, 8 + 1024 + lo * 20, (hi - lo) * 20);
    const want = Buffer.from(sha, 'hex');
    const i = binarySearch(names, want, hi - lo);
    if (i < 0) return undefined;
    const at = lo + i;
    const small = (await readAt(fh, 8 + 1024 + count * 24 + at * 4, 4)).readUInt32BE(0);
    if ((small & 0x80000000) === 0) return small;
    const large = await readAt(fh, 8 + 1024 + count * 28 + (small & 0x7fffffff) * 8, 8);
    const offset = large.readBigUInt64BE(0);
    if (offset > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error('idx');
    return Number(offset);
  });
}

function binarySearch(names: Buffer, want: Buffer, n: number): number {
  let lo = 0;
  let hi = n - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    // negative: the name at `mid` sorts before the one wanted
    const c = names.compare(want, 0, 20, mid * 20, mid * 20 + 20);
    if (c === 0) return mid;
    if (c < 0) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/** A whole (non-delta) commit at `offset` of a pack; undefined for any other entry. */
async function readPacked(packPath: string, offset: number): Promise<Buffer | undefined> {
  return withFile(packPath, async (fh) => {
    const head = await readAt(fh, offset, 16);
    let byte = head[0] ?? 0;
    const type = (byte >> 4) & 7;
    let size = byte & 15;
    let shift = 4;
    let i = 1;
    while (byte & 0x80) {
      byte = head[i++] ?? 0;
      size += (byte & 0x7f) * 2 ** shift;
      shift += 7;
      if (i > 10) return undefined;
    }
    if (type !== OBJ_COMMIT || size > MAX_COMMIT_SIZE) return undefined;
    // deflate never grows text much: a window of twice the size (plus headers) holds the stream
    const stream = await readAt(fh, offset + i, size * 2 + 1024, true);
    const object = inflateSync(stream, { finishFlush: constants.Z_SYNC_FLUSH, maxOutputLength: size + 1 });
    return object.length === size ? object : undefined;
  });
}

/**
 * `fn` with `path` open for reading, closed afterwards (openRegular: a local repository's
 * objects are anyone's files).
 */
async function withFile<T>(path: string, fn: (fh: FileHandle) => Promise<T>): Promise<T> {
  const fh = await openRegular(path);
  try {
    return await fn(fh);
  } finally {
    await fh.close();
  }
}

/** `length` bytes at `position`; fewer only where `partial` allows (end of file). */
async function readAt(fh: FileHandle, position: number, length: number, partial = false): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  const { bytesRead } = await fh.read(buf, 0, length, position);
  if (bytesRead < length && !partial) throw new Error('short read');
  return buf.subarray(0, bytesRead);
}
