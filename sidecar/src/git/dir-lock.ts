/**
 * One git operation per working copy at a time within this process, and recovery from the lock
 * files a killed git (e.g. `kill -9` of the sidecar mid-sync) leaves behind. Only this process
 * works in its checkouts, so a lock file found while holding the in-process lock is stale.
 */
import { readdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';

const tails = new Map<string, Promise<unknown>>();

/** Runs `fn` after every earlier call for the same directory has settled. */
export async function serialized<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const key = resolve(dir);
  const prev = tails.get(key) ?? Promise.resolve();
  const run = prev.then(fn, fn);
  const tail = run.catch(() => undefined);
  tails.set(key, tail);
  try {
    return await run;
  } finally {
    if (tails.get(key) === tail) tails.delete(key);
  }
}

const TOP_LEVEL_LOCKS = [
  'index.lock',
  'shallow.lock',
  'HEAD.lock',
  'config.lock',
  'packed-refs.lock',
  'FETCH_HEAD.lock',
];

/** Removes lock files left in `gitDir` by a git process that did not finish. */
export async function removeStaleLocks(gitDir: string): Promise<string[]> {
  const refLocks = await readdir(join(gitDir, 'refs'), { recursive: true }).then(
    (entries) => entries.filter((e) => e.endsWith('.lock')).map((e) => join('refs', e)),
    () => [],
  );
  const removed: string[] = [];
  for (const rel of [...TOP_LEVEL_LOCKS, ...refLocks]) {
    const path = join(gitDir, rel);
    const existed = await rm(path).then(
      () => true,
      () => false,
    );
    if (existed) removed.push(rel);
  }
  return removed;
}
