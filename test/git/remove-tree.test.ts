/**
 * removeTree (storage/remove-tree.ts): a clone dir goes whatever its depth, even when its paths
 * are longer than the kernel takes in one call (fs.rm then fails ENAMETOOLONG).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { removeTree } from '@chartsync/sidecar/git';
import { tempDir } from '../harness/paths.ts';

let tmp: { path: string; cleanup: () => Promise<void> };

before(async () => {
  tmp = await tempDir('chartsync-remove-tree-');
});
after(async () => {
  await tmp?.cleanup();
});

/** `a/a/…/a` `levels` deep under `top`; answers its deepest directory. */
async function chain(top: string, levels: number): Promise<string> {
  const deepest = join(top, ...Array.from({ length: levels }, () => 'a'));
  await mkdir(deepest, { recursive: true });
  return deepest;
}

/**
 * A tree ~5,400 bytes deep under `dir`, past PATH_MAX (4096): three chains of 900 levels, each
 * moved into the deepest directory of the next while that one's path is still short.
 */
async function deepTree(dir: string): Promise<void> {
  const third = await chain(join(tmp.path, 'c3'), 900);
  await writeFile(join(third, 'f'), 'deep\n');
  const second = await chain(join(tmp.path, 'c2'), 900);
  await rename(join(tmp.path, 'c3'), join(second, 'c3'));
  const first = await chain(dir, 900);
  await rename(join(tmp.path, 'c2'), join(first, 'c2'));
}

test('a tree deeper than PATH_MAX is removed whole (fs.rm alone fails)', async () => {
  const dir = join(tmp.path, 'deep');
  await deepTree(dir);
  await assert.rejects(rm(dir, { recursive: true, force: true }), { code: 'ENAMETOOLONG' });
  await removeTree(dir);
  assert.equal(existsSync(dir), false);
});

test('a shallow tree, and one that is not there', async () => {
  const dir = join(tmp.path, 'shallow');
  await mkdir(join(dir, 'x/y'), { recursive: true });
  await writeFile(join(dir, 'x/y/z'), 'z');
  await removeTree(dir);
  assert.equal(existsSync(dir), false);
  await removeTree(dir);
});
