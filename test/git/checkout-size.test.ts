/**
 * The size of a checkout on disk (git/checkout-size.ts): the files' own lstat sizes, links
 * counted as themselves and never followed, `.git` left out, the count stopped once over the cap.
 */
import assert from 'node:assert/strict';
import { mkdir, symlink, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { measureCheckout } from '@chartsync/sidecar/git';
import { tempDir } from '../harness/paths.ts';

const MiB = 1024 * 1024;
let tmp: { path: string; cleanup: () => Promise<void> };

before(async () => {
  tmp = await tempDir('chartsync-checkout-size-');
});
after(async () => {
  await tmp?.cleanup();
});

/** A working copy: `files` (path -> size, written sparse) under `name`, plus a large `.git`. */
async function checkout(name: string, files: Record<string, number>): Promise<string> {
  const dir = join(tmp.path, name);
  for (const [path, size] of Object.entries({ ...files, '.git/objects/pack/big.pack': 64 * MiB })) {
    await mkdir(join(dir, path, '..'), { recursive: true });
    await writeFile(join(dir, path), '');
    await truncate(join(dir, path), size);
  }
  return dir;
}

test('the sum of the files in every directory, .git left out', async () => {
  const dir = await checkout('sum', {
    'a.txt': 100,
    'charts/app/values.yaml': 2000,
    'x/y/z/deep.bin': 3 * MiB,
  });
  assert.deepEqual(await measureCheckout(dir, 1024 * MiB), { bytes: 100 + 2000 + 3 * MiB, over: false });
  // only the top-level .git is git's: a directory of that name deeper is the repository's content
  await checkout('sum', { 'vendor/.git/blob': 500 });
  assert.equal((await measureCheckout(dir, 1024 * MiB)).bytes, 100 + 2000 + 3 * MiB + 500);
});

test('a symbolic link counts as itself: a link to a huge file or to .git is never followed', async () => {
  const dir = await checkout('links', { 'huge.bin': 0, 'small.txt': 10 });
  await truncate(join(dir, 'huge.bin'), 0);
  const target = join(tmp.path, 'outside.bin');
  await writeFile(target, '');
  await truncate(target, 100 * MiB);
  await symlink(target, join(dir, 'to-outside'));
  await symlink('.git', join(dir, 'to-git'));
  await symlink('../..', join(dir, 'loop'));
  const { bytes, over } = await measureCheckout(dir, 1024 * MiB);
  assert.equal(over, false);
  // the links' own sizes: the length of their targets
  assert.equal(bytes, 10 + target.length + '.git'.length + '../..'.length);
});

test('over the cap: reported over, the count stopped (not every file was asked)', async () => {
  const files = Object.fromEntries(Array.from({ length: 400 }, (_, i) => [`f/${i}.bin`, MiB]));
  const dir = await checkout('over', files);
  const size = await measureCheckout(dir, 10 * MiB);
  assert.equal(size.over, true);
  assert.ok(size.bytes > 10 * MiB, `${size.bytes}`);
  assert.ok(size.bytes < 100 * MiB, `counted ${size.bytes} bytes of 400 MiB: the count went on past the cap`);
  assert.deepEqual(await measureCheckout(dir, 400 * MiB), { bytes: 400 * MiB, over: false });
});

test("a file of 4 GiB counts whole (git's index keeps sizes modulo 2^32: it would say 0)", async () => {
  const dir = await checkout('4g', { 'zeros.bin': 4 * 1024 * MiB });
  assert.deepEqual(await measureCheckout(dir, 1024 * MiB), { bytes: 4 * 1024 * MiB, over: true });
});
