/**
 * Keeps a long-lived checkout small. Every update fetches one more pack and leaves the previous
 * commit unreachable (no reflog, see session.ts); once enough packs pile up, one `git gc
 * --prune=now` repacks what HEAD needs and drops the rest, including stale shallow entries.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Packs (one per fetch) a checkout may collect before it is compacted. */
export const MAX_PACKS = 20;

export interface ObjectCounts {
  packs: number;
  loose: number;
}

/** Whether a checkout with these object counts has enough garbage to compact. */
export function shouldCompact(counts: ObjectCounts, maxPacks = MAX_PACKS): boolean {
  return counts.packs >= maxPacks || counts.loose >= maxPacks * 100;
}

/**
 * What `git count-objects` counts (pack files, loose objects), read from the object directory
 * itself: an update then runs one git process fewer.
 */
export async function objectCounts(gitDir: string): Promise<ObjectCounts> {
  const objects = join(gitDir, 'objects');
  const list = (dir: string) => readdir(dir).catch(() => [] as string[]);
  const packs = (await list(join(objects, 'pack'))).filter((f) => f.endsWith('.pack')).length;
  const fanout = (await list(objects)).filter((d) => /^[0-9a-f]{2}$/.test(d));
  const loose = (await Promise.all(fanout.map((d) => list(join(objects, d))))).reduce(
    (n, files) => n + files.length,
    0,
  );
  return { packs, loose };
}

/**
 * Runs `git gc --prune=now` through `git` when the checkout needs it; true if it did. A checkout
 * made by `git clone` first loses its remote: the remote-tracking branch the clone wrote never
 * moves (updates fetch commits, not branches) and would keep the first commit alive forever.
 */
export async function compactIfNeeded(
  gitDir: string,
  git: (args: string[]) => Promise<string>,
): Promise<boolean> {
  if (!shouldCompact(await objectCounts(gitDir))) return false;
  await compact(gitDir, git);
  return true;
}

/** Keeps only what the checkout's refs need (see compactIfNeeded), now. */
export async function compact(gitDir: string, git: (args: string[]) => Promise<string>): Promise<void> {
  if (await hasOrigin(gitDir)) await git(['remote', 'remove', 'origin']);
  await git(['gc', '--prune=now', '--quiet']);
}

async function hasOrigin(gitDir: string): Promise<boolean> {
  const config = await readFile(join(gitDir, 'config'), 'utf8').catch(() => '');
  return /^\s*\[remote "origin"\]/m.test(config);
}
