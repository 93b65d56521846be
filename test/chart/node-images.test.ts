/**
 * The real node's image cache (~/.cache/chartsync/images): every change to the sidecar or the
 * operator makes a new ~200 MB archive, so the cache keeps, per image name, only the archives in
 * use and the most recently used others. An unpruned cache once filled this machine's disk until
 * the kubelet evicted every pod for DiskPressure.
 */
import assert from 'node:assert/strict';
import { readdir, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { IMAGE_CACHE_KEEP, pruneImageCache } from '../harness/node-images.ts';
import { tempDir } from '../harness/paths.ts';

const key = (n: number) => n.toString(16).padStart(16, '0');

test('the image cache keeps the archives in use and the most recently used others, per image name', async () => {
  const dir = await tempDir('chartsync-image-cache-');
  try {
    const day = 86_400_000;
    // Five old sidecar archives and three old operator archives, used on successive days.
    const files: string[] = [];
    for (const [name, count] of [
      ['sidecar', 5],
      ['operator', 3],
    ] as const)
      for (let i = 0; i < count; i++) {
        const file = `${name}-${key(i)}.tar`;
        await writeFile(join(dir.path, file), 'x');
        const when = new Date(Date.now() - (10 - i) * day);
        await utimes(join(dir.path, file), when, when);
        files.push(file);
      }
    // In use: the oldest sidecar archive (taken from the cache again) and a new operator one.
    await writeFile(join(dir.path, `operator-${key(99)}.tar`), 'x');
    await writeFile(join(dir.path, 'notes.txt'), 'not an archive');
    const inUse = [`sidecar-${key(0)}.tar`, `operator-${key(99)}.tar`].map((f) => ({
      ref: 'r',
      archive: join(dir.path, f),
    }));
    const removed = await pruneImageCache(dir.path, inUse);

    assert.equal(IMAGE_CACHE_KEEP, 2);
    assert.deepEqual(removed, [`operator-${key(0)}.tar`, `sidecar-${key(1)}.tar`, `sidecar-${key(2)}.tar`]);
    assert.deepEqual((await readdir(dir.path)).sort(), [
      'notes.txt',
      `operator-${key(1)}.tar`,
      `operator-${key(2)}.tar`,
      `operator-${key(99)}.tar`,
      `sidecar-${key(0)}.tar`,
      `sidecar-${key(3)}.tar`,
      `sidecar-${key(4)}.tar`,
    ]);
    // The archive taken from the cache counts as just used: the next prune keeps it over others.
    const reused = await stat(join(dir.path, `sidecar-${key(0)}.tar`));
    assert.ok(Date.now() - reused.mtimeMs < 60_000, 'an archive in use is marked as used now');
    assert.deepEqual(await pruneImageCache(dir.path, inUse), [], 'a second prune removes nothing');
  } finally {
    await dir.cleanup();
  }
});
