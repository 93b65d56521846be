/**
 * One git operation per working copy at a time within this process, and recovery from the lock
 * and temporary files a killed or failed git (e.g. `kill -9` of the sidecar mid-sync, a server
 * that closed mid-pack) leaves behind. Only this process works in its checkouts, so such a file
 * found while holding the in-process lock is stale.
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

/** The git dir's object directories where git writes its temporary files (`tmp_*`). */
const OBJECT_DIRS = ['objects', join('objects', 'pack')];

/**
 * Removes the temporary object files of git commands that did not finish: a fetch cut short
 * (the server closed mid-pack, a timeout killed it) leaves what it received as
 * `objects/pack/tmp_pack_*`, which no later command deletes (gc would, but runs only once
 * enough real packs piled up). Each failed fetch of a hostile server would add its bytes to
 * the data dir for good, uncounted by the checkout cap.
 */
export async function removeStaleTemps(gitDir: string): Promise<string[]> {
  const removed: string[] = [];
  for (const rel of OBJECT_DIRS) {
    const names = await readdir(join(gitDir, rel)).catch(() => [] as string[]);
    for (const name of names.filter((n) => n.startsWith('tmp_'))) {
      await rm(join(gitDir, rel, name), { recursive: true, force: true });
      removed.push(join(rel, name));
    }
  }
  return removed;
}
