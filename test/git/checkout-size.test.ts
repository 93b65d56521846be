/**
 * The size of a checkout on disk (git/checkout-size.ts): the files' own lstat sizes rounded up to
 * 4 KiB blocks (at least one), a block per directory, links counted as themselves and never
 * followed, `.git` left out, the count stopped once over the cap.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, symlink, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  countedKey,
  GitError,
  type MeasureCheckout,
  measureCheckout,
  syncCheckout,
} from '@chartsync/sidecar/git';
import { RepoRoot } from '../harness/git-server.ts';
import { tempDir } from '../harness/paths.ts';

const MiB = 1024 * 1024;
/** The block of the count: a file takes whole blocks, at least one; a directory one. */
const B = 4096;

/** The count without the per-directory totals (no tree ids given: there are none). */
async function sizeOf(dir: string, cap: number): Promise<{ bytes: number; over: boolean }> {
  const { bytes, over } = await measureCheckout(dir, cap);
  return { bytes, over };
}
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

test('the blocks of the files and directories, .git left out', async () => {
  const dir = await checkout('sum', {
    'a.txt': 100,
    'charts/app/values.yaml': 2000,
    'x/y/z/deep.bin': 3 * MiB + 1,
  });
  // files: a block each for the small ones, 3 MiB + 1 byte is one block more than 3 MiB;
  // directories: the root, charts, charts/app, x, x/y, x/y/z
  const files = B + B + 3 * MiB + B;
  assert.deepEqual(await sizeOf(dir, 1024 * MiB), { bytes: files + 6 * B, over: false });
  // only the top-level .git is git's: a directory of that name deeper is the repository's content
  await checkout('sum', { 'vendor/.git/blob': 500 });
  assert.equal((await measureCheckout(dir, 1024 * MiB)).bytes, files + B + 8 * B);
});

test('empty files in many directories take blocks: over a small cap though their bytes sum to 0', async () => {
  const files = Object.fromEntries(Array.from({ length: 3000 }, (_, i) => [`d${i}/.keep`, 0]));
  const dir = await checkout('empty', files);
  const size = await measureCheckout(dir, 5 * MiB);
  assert.equal(size.over, true);
  assert.ok(size.bytes > 5 * MiB, `${size.bytes}`);
  assert.deepEqual(await sizeOf(dir, 1024 * MiB), { bytes: B + 3000 * 2 * B, over: false });
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
  // the links' own sizes (the length of their targets) take a block each, as do the two files
  // and the root: the 100 MiB outside are not counted
  assert.equal(bytes, 2 * B + 3 * B + B);
});

test('over the cap: reported over, the count stopped (not every file was asked)', async () => {
  const files = Object.fromEntries(Array.from({ length: 400 }, (_, i) => [`f/${i}.bin`, MiB]));
  const dir = await checkout('over', files);
  const size = await measureCheckout(dir, 10 * MiB);
  assert.equal(size.over, true);
  assert.ok(size.bytes > 10 * MiB, `${size.bytes}`);
  assert.ok(size.bytes < 100 * MiB, `counted ${size.bytes} bytes of 400 MiB: the count went on past the cap`);
  assert.deepEqual(await sizeOf(dir, 401 * MiB), { bytes: 400 * MiB + 2 * B, over: false });
});

test("a file of 4 GiB counts whole (git's index keeps sizes modulo 2^32: it would say 0)", async () => {
  const dir = await checkout('4g', { 'zeros.bin': 4 * 1024 * MiB });
  assert.deepEqual(await sizeOf(dir, 1024 * MiB), { bytes: 4 * 1024 * MiB + B, over: true });
});

test('with tree ids: a directory whose tree and path were counted before is taken at that total, anything else is walked', async () => {
  const dir = await checkout('known', { 'a/x.bin': 1000, 'b/y.bin': 2000, 'c/z.bin': 10 });
  const trees = new Map([
    ['', 'root2'],
    ['a', 'treeA'],
    ['b', 'treeB'],
    ['c', 'treeC'],
  ]);
  const first = await measureCheckout(dir, 1024 * MiB, { trees, before: {} });
  // each directory: its block and its file's
  assert.equal(first.bytes, 7 * B);
  const k = countedKey;
  assert.deepEqual(first.counted, {
    [k('root2', '')]: 7 * B,
    [k('treeA', 'a')]: 2 * B,
    [k('treeB', 'b')]: 2 * B,
    [k('treeC', 'c')]: 2 * B,
  });
  // a's tree and path are as counted: its total is taken (the disk is not asked); b's tree is
  // new, and c's tree was counted at another path: both walked
  const before = {
    [k('treeA', 'a')]: 7 * MiB,
    [k('treeB', 'b')]: 1,
    [k('treeC', 'elsewhere')]: 1,
    [k('root1', '')]: 1,
  };
  const second = await measureCheckout(dir, 1024 * MiB, {
    trees: new Map([...trees, ['b', 'treeB2']]),
    before,
  });
  assert.equal(second.bytes, B + 7 * MiB + 4 * B);
  assert.deepEqual(second.counted, {
    [k('root2', '')]: B + 7 * MiB + 4 * B,
    [k('treeA', 'a')]: 7 * MiB,
    [k('treeB2', 'b')]: 2 * B,
    [k('treeC', 'c')]: 2 * B,
  });
  // a remembered total counts toward the cap like a walked one
  assert.equal((await measureCheckout(dir, 5 * MiB, { trees, before })).over, true);
});

test('an update walks only the directories whose tree changed: the totals of the last count come from the git dir', async () => {
  const repo = await new RepoRoot(join(tmp.path, 'repos')).create('counted', {
    'charts/a/Chart.yaml': 'name: a\n',
    'charts/b/Chart.yaml': 'name: b\n',
  });
  const dir = join(tmp.path, 'counted-clone');
  const policy = { allowLocal: true, allowInsecure: false };
  const url = `file://${repo.bare}`;
  await syncCheckout({ url, policy, dir, maxSize: 500 * MiB });
  const file = join(dir, '.git', 'chartsync-counted.json');
  const counted = JSON.parse(await readFile(file, 'utf8')) as Record<string, number>;
  const aKey = Object.keys(counted).find((k) => k.endsWith(countedKey('', 'charts/a')));
  assert.ok(aKey, JSON.stringify(counted));
  assert.equal(counted[aKey], 2 * B); // charts/a and its Chart.yaml
  // What the next count believes of charts/a, which does not change: 900 MiB. The update of b
  // must take it instead of walking a again, and so find the checkout over the cap.
  await writeFile(file, JSON.stringify({ ...counted, [aKey]: 900 * MiB }));
  await repo.write({ 'charts/b/Chart.yaml': 'name: b\nversion: 2\n' });
  await repo.commit('b changes');
  await repo.push();
  await assert.rejects(
    syncCheckout({ url, policy, dir, maxSize: 500 * MiB }),
    (e: unknown) => e instanceof GitError && e.kind === 'size',
  );
  // the oversized checkout was removed: the next sync clones and counts afresh
  await syncCheckout({ url, policy, dir, maxSize: 500 * MiB });
  const fresh = JSON.parse(await readFile(file, 'utf8')) as Record<string, number>;
  assert.equal(fresh[aKey], 2 * B);
});

test('names that are not UTF-8 are counted like any other (git takes them)', async () => {
  const dir = join(tmp.path, 'bytes');
  const bytes = (...b: number[]) => Buffer.concat([Buffer.from(`${dir}/`), Buffer.from(b)]);
  await mkdir(bytes(0xff), { recursive: true });
  await writeFile(bytes(0xff, 0x2f, 0xfe), Buffer.alloc(1234)); // <dir>/\xff/\xfe
  await writeFile(join(dir, 'plain.txt'), 'x');
  // the root, \xff, and a block for each file
  assert.deepEqual(await sizeOf(dir, 1024 * MiB), { bytes: 4 * B, over: false });
});

test('the count can run elsewhere (the sidecar: on a build thread): syncCheckout hands it the dir, the cap and the tree ids', async () => {
  const repo = await new RepoRoot(join(tmp.path, 'repos')).create('measured-elsewhere', {
    'charts/a/Chart.yaml': 'name: a\n',
  });
  const dir = join(tmp.path, 'measured-elsewhere');
  const calls: { dir: string; cap: number; trees: string[] }[] = [];
  const measure: MeasureCheckout = async (d, cap, known) => {
    calls.push({ dir: d, cap, trees: [...(known?.trees.keys() ?? [])].sort() });
    return { bytes: cap + 1, over: true, counted: {} };
  };
  const policy = { allowLocal: true, allowInsecure: false };
  await assert.rejects(
    syncCheckout({ url: `file://${repo.bare}`, policy, dir, maxSize: 5 * MiB, measure }),
    (e: unknown) => e instanceof GitError && e.kind === 'size',
  );
  assert.deepEqual(calls, [{ dir, cap: 5 * MiB, trees: ['', 'charts', 'charts/a'] }]);
});

test('a directory is kept among the totals by a fixed-size key, however long its path', () => {
  const long = Array.from({ length: 15 }, () => 'n'.repeat(250)).join('/');
  assert.equal(countedKey('t'.repeat(40), long).length, countedKey('t'.repeat(40), 'a').length);
  assert.notEqual(countedKey('t', 'a'), countedKey('t', 'b'));
  assert.notEqual(countedKey('t', 'a'), countedKey('u', 'a'));
});
