/**
 * Keeps a long-lived checkout small. Every update fetches one more pack and leaves the previous
 * commit unreachable (no reflog, see session.ts); once enough packs pile up, one `git gc
 * --prune=now` repacks what HEAD needs and drops the rest, including stale shallow entries.
 */

/** Packs (one per fetch) a checkout may collect before it is compacted. */
export const MAX_PACKS = 20;

/** Whether `git count-objects -v` output shows enough garbage to compact. */
export function shouldCompact(countObjects: string, maxPacks = MAX_PACKS): boolean {
  const field = (name: string) => Number(new RegExp(`^${name}: (\\d+)$`, 'm').exec(countObjects)?.[1] ?? 0);
  return field('packs') >= maxPacks || field('count') >= maxPacks * 100;
}

/** Runs `git gc --prune=now` through `git` when the checkout needs it; true if it did. */
export async function compactIfNeeded(git: (args: string[]) => Promise<string>): Promise<boolean> {
  if (!shouldCompact(await git(['count-objects', '-v']))) return false;
  await git(['gc', '--prune=now', '--quiet']);
  return true;
}
