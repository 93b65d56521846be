/**
 * The tree id of every directory of the commit just checked out, read from git's own index
 * instead of a `git ls-tree` process: `git clone` and `git reset --hard` leave the index with a
 * complete cache-tree extension ("TREE"), the id of each directory's tree as of that commit. A
 * spawn costs the sidecar's event loop a fork of its whole memory (several ms, more under load).
 * Trusted only when its root is the commit's root tree; anything this reader does not know (an
 * index version other than 2 or 3, a split or sparse index, an invalidated directory, SHA-256,
 * any inconsistency) gives undefined, and the caller asks git.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** Indexes larger than this (a few hundred thousand files) are left to git. */
const MAX_INDEX_SIZE = 64 * 1024 * 1024;
const SHA1_SIZE = 20;
/** ctime, mtime, dev, ino, mode, uid, gid, size (4 bytes each but the times' 8), id, flags. */
const ENTRY_FIXED = 62;

/** Every directory's tree id ('' for the root), if the index of `gitDir` holds them for `rootTree`. */
export async function readIndexTrees(
  gitDir: string,
  rootTree: string,
): Promise<Map<string, string> | undefined> {
  try {
    const path = join(gitDir, 'index');
    if ((await stat(path)).size > MAX_INDEX_SIZE) return undefined;
    const trees = parseIndexTrees(await readFile(path));
    return trees?.get('') === rootTree ? trees : undefined;
  } catch {
    return undefined;
  }
}

/** The cache-tree of a version 2 or 3 index (SHA-1), complete and valid, or undefined. */
export function parseIndexTrees(index: Buffer): Map<string, string> | undefined {
  if (index.length < 12 + SHA1_SIZE || index.toString('latin1', 0, 4) !== 'DIRC') return undefined;
  const version = index.readUInt32BE(4);
  if (version !== 2 && version !== 3) return undefined;
  const end = index.length - SHA1_SIZE;
  let at = skipEntries(index, 12, index.readUInt32BE(8), version, end);
  let trees: Map<string, string> | undefined;
  while (at !== undefined && at + 8 <= end) {
    const signature = index.toString('latin1', at, at + 4);
    const size = index.readUInt32BE(at + 4);
    const body = at + 8;
    if (body + size > end) return undefined;
    // a split index keeps entries elsewhere, a sparse one folds directories: not the commit's tree
    if (signature === 'link' || signature === 'sdir') return undefined;
    if (signature === 'TREE') trees = parseCacheTree(index.subarray(body, body + size));
    at = body + size;
  }
  return at === end ? trees : undefined;
}

/** The offset after `count` entries from `at`, or undefined if they do not fit. */
function skipEntries(
  index: Buffer,
  at: number,
  count: number,
  version: number,
  end: number,
): number | undefined {
  let pos = at;
  for (let i = 0; i < count; i++) {
    if (pos + ENTRY_FIXED > end) return undefined;
    const flags = index.readUInt16BE(pos + ENTRY_FIXED - 2);
    const extended = version >= 3 && (flags & 0x4000) !== 0;
    const name = pos + ENTRY_FIXED + (extended ? 2 : 0);
    const nul = index.indexOf(0, name);
    if (nul < 0 || nul >= end) return undefined;
    // each entry is padded with 1 to 8 NULs to a multiple of 8 bytes
    pos += (nul - pos + 8) & ~7;
  }
  return pos;
}

/**
 * The "TREE" extension: per directory (the root first, then its subdirectories, depth first)
 * its name NUL, the entry count, a space, the subtree count, a newline, then the tree id; an
 * entry count of -1 marks a directory changed since, without an id.
 */
function parseCacheTree(data: Buffer): Map<string, string> | undefined {
  const trees = new Map<string, string>();
  let at = 0;
  // depth first, one call per level: deeper than a path can be (4096 bytes) is refused
  const node = (parent: string | undefined, depth = 0): boolean => {
    if (depth > 2048) return false;
    const nul = data.indexOf(0, at);
    const newline = nul < 0 ? -1 : data.indexOf(0x0a, nul);
    if (nul < 0 || newline < 0) return false;
    const name = data.toString('utf8', at, nul);
    const counts = /^(-?\d+) (\d+)$/.exec(data.toString('latin1', nul + 1, newline));
    if (!counts || Number(counts[1]) < 0 || newline + 1 + SHA1_SIZE > data.length) return false;
    const path = parent === undefined ? '' : parent ? `${parent}/${name}` : name;
    if ((parent === undefined) !== (name === '') || trees.has(path)) return false;
    trees.set(path, data.toString('hex', newline + 1, newline + 1 + SHA1_SIZE));
    at = newline + 1 + SHA1_SIZE;
    for (let i = Number(counts[2]); i > 0; i--) if (!node(path, depth + 1)) return false;
    return true;
  };
  return node(undefined) && at === data.length ? trees : undefined;
}
