/**
 * The checkout cap (`--max-checkout-size`): a repository whose working copy is larger fails its
 * sync with `CheckoutTooLarge`, its checkout is removed from the data dir, and what it published
 * before stays served; once the repository is small again, the next update succeeds. A few
 * identical 2 MiB files are a few KB in git: only the checkout on disk is large.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileUrl } from '../harness/git-server.ts';
import { chartFiles } from '../sidecar/fixtures.ts';
import { type Answer, assertError, exists, published, snapshot, startWorld, type World } from './world.ts';

const MiB = 1024 * 1024;
/** Four identical files of 2 MiB: 8 MiB in the checkout, over the 5 MiB cap. */
const BIG = Object.fromEntries([1, 2, 3, 4].map((i) => [`blobs/big-${i}.bin`, Buffer.alloc(2 * MiB, 7)]));

let w: World;

before(async () => {
  w = await startWorld({ args: ['--allow-local-git', '--max-checkout-size', '5Mi'] });
});
after(async () => {
  await w?.stop();
});

/** The answer is CheckoutTooLarge naming the sizes and the setting, and no path of the sidecar's. */
function assertTooLarge(a: Answer): void {
  assertError(a, 502, 'upstream_failed', /larger than the checkout cap of 5 MiB \(at least \d+(\.\d)? MiB: /);
  assert.equal(a.json.reason, 'CheckoutTooLarge', a.text);
  assert.match(String(a.json.message), /--max-checkout-size/);
  for (const dir of [w.data, w.storage]) assert.ok(!String(a.json.message).includes(dir), a.text);
}

/** The bytes of every file under the data dir. */
async function dataSize(): Promise<number> {
  let bytes = 0;
  for (const kind of Object.values(await snapshot(w.data))) {
    const m = /^file (\d+)/.exec(kind);
    if (m) bytes += Number(m[1]);
  }
  return bytes;
}

test('a first sync of an oversized checkout fails CheckoutTooLarge; the clone is removed from the data dir', async () => {
  const repo = await w.git.repos.create('big-first', { ...chartFiles('charts/app', 'app'), ...BIG });
  const a = await w.api('POST', '/repo/new', { json: { name: 'big-first', git: fileUrl(repo) } });
  assertTooLarge(a);
  assert.ok(!exists(join(w.data, 'clones/big-first')), 'the clone dir is gone');
  assert.ok((await dataSize()) < MiB, `the data dir holds ${await dataSize()} bytes`);
  assert.deepEqual(await published(w), {}, 'nothing was published');
});

test('an update to an oversized commit fails, keeps what was published, removes the clone; a fix syncs again', async () => {
  const repo = await w.git.repos.create('big-later', chartFiles('charts/app', 'app'));
  const good = await repo.head();
  const first = await w.api('POST', '/repo/new', { json: { name: 'big-later', git: fileUrl(repo) } });
  assert.equal(first.status, 200, first.text);
  const before = await published(w);
  assert.ok(before['big-later/app-1.0.0.tgz'], JSON.stringify(before));

  await repo.write(BIG);
  await repo.commit('add large files');
  await repo.push();
  assertTooLarge(await w.api('POST', '/repo/big-later/update'));
  assert.ok(!exists(join(w.data, 'clones/big-later')), 'the clone dir is gone');
  assert.ok((await dataSize()) < MiB, `the data dir holds ${await dataSize()} bytes`);
  const afterFailure = await published(w);
  delete afterFailure['big-later/index.yaml'];
  delete before['big-later/index.yaml'];
  assert.deepEqual(afterFailure, before, 'the published chart is kept as it was');
  const index = await w.api('GET', '/charts/big-later/index.yaml', { token: null });
  assert.match(index.text, /app-1\.0\.0\.tgz/);
  // the last good sync stays the good commit: the failure is reported beside it
  const view = await w.api('GET', '/repo/big-later');
  const lastSync = view.json.lastSync as { commit: string; error?: { reason: string } };
  assert.equal(lastSync.commit, good, view.text);
  assert.equal(lastSync.error?.reason, 'CheckoutTooLarge', view.text);

  await repo.remove(['blobs']);
  const fixed = await repo.commit('remove large files');
  await repo.push();
  const a = await w.api('POST', '/repo/big-later/update');
  assert.equal(a.status, 200, a.text);
  assert.equal(a.json.commit, fixed);
  assert.deepEqual(
    (a.json.charts as { name: string; action: string }[]).map((c) => [c.name, c.action]),
    [['app', 'unchanged']],
  );
  assert.ok(exists(join(w.data, 'clones/big-later/charts/app/Chart.yaml')), 'checked out afresh');
});

/** Levels of the deep tree: `x/a/…/a/f` is ~4,080 bytes, past PATH_MAX once under the data dir. */
const DEPTH = 2040;

/**
 * Points `main` of `bare` at a commit of one file nested DEPTH directories deep, written with
 * git's plumbing (a working tree that deep is what the test is about: git writes it, fs cannot).
 */
function commitDeepTree(bare: string): void {
  const git = (args: string[], input?: string) =>
    execFileSync('git', args, {
      cwd: bare,
      input,
      encoding: 'utf8',
      env: {
        ...process.env,
        GIT_AUTHOR_NAME: 't',
        GIT_AUTHOR_EMAIL: 't@x',
        GIT_COMMITTER_NAME: 't',
        GIT_COMMITTER_EMAIL: 't@x',
      },
    }).trim();
  const blob = git(['hash-object', '-w', '--stdin'], 'deep\n');
  let tree = git(['mktree'], `100644 blob ${blob}\tf\n`);
  for (let i = 1; i < DEPTH; i++)
    tree = git(['mktree'], `040000 tree ${tree}\t${i === DEPTH - 1 ? 'x' : 'a'}\n`);
  const commit = git(['commit-tree', tree, '-m', 'deep'], '');
  git(['update-ref', 'refs/heads/main', commit]);
}

test('a path too long for the file system: CheckoutTooLarge, nothing left in the data dir, and the repo can be removed', async () => {
  const repo = await w.git.repos.create('deep', chartFiles('charts/app', 'app'));
  commitDeepTree(repo.bare);
  const a = await w.api('POST', '/repo/new', { json: { name: 'deep', git: fileUrl(repo) } });
  assertError(a, 502, 'upstream_failed', /a path in the checkout is longer than the file system takes/);
  assert.equal(a.json.reason, 'CheckoutTooLarge', a.text);
  for (const dir of [w.data, w.storage]) assert.ok(!a.text.includes(dir), a.text);
  assert.ok(!exists(join(w.data, 'clones/deep')), 'the clone dir is gone');
  const removed = await w.api('DELETE', '/repo/deep');
  assert.equal(removed.status, 200, removed.text);
});
