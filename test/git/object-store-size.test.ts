/**
 * The checkout cap bounds what a sync leaves in the data dir, and git's object store is part of
 * it. A shallow fetch brings about what the working copy holds, but an abbreviated commit id
 * (or a server that refuses a commit id, which a hostile one can do at will) makes the checkout
 * fetch every branch and tag with their whole history, and a server may send objects nobody
 * asked for: none of that is in the working copy the cap counts.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { GitError, syncCheckout } from '@chartsync/sidecar/git';
import { type FixtureRepo, fileUrl, type GitServers, startGitServers } from '../harness/git-server.ts';

const MiB = 1024 * 1024;
const policy = { allowLocal: true, allowInsecure: false };
let servers: GitServers;
let repo: FixtureRepo;

before(async () => {
  servers = await startGitServers();
  repo = await servers.repos.create('history', { 'charts/a/Chart.yaml': 'name: a\n' });
  // 12 MiB that do not compress, in history only: the tip is a few bytes
  await repo.write({ 'old.bin': randomBytes(12 * MiB) });
  await repo.commit('big');
  await repo.remove(['old.bin']);
  await repo.commit('small again');
  await repo.push();
});
after(async () => {
  await servers?.stop();
});

test('history fetched for an abbreviated commit id counts against the cap', async () => {
  const dir = join(servers.dir, 'co-short');
  const short = (await repo.head()).slice(0, 10);
  await assert.rejects(
    syncCheckout({ url: fileUrl(repo), ref: short, dir, policy, maxSize: 5 * MiB }),
    (e: unknown) => e instanceof GitError && e.kind === 'size' && /objects/.test(e.message),
  );
  assert.ok(!existsSync(dir), 'the oversized checkout is removed whole');
  // the tip alone is well within the cap: a shallow checkout of it passes
  const ok = await syncCheckout({ url: fileUrl(repo), dir, policy, maxSize: 5 * MiB });
  assert.equal(ok.commit, await repo.head());
});

test('packs of earlier updates over the cap are compacted away, not refused', async () => {
  const churn = await servers.repos.create('churn', { 'charts/a/Chart.yaml': 'name: a\n' });
  const dir = join(servers.dir, 'co-churn');
  const url = fileUrl(churn);
  for (let i = 0; i < 3; i++) {
    // 3 MiB that do not compress, a new one each time: the packs add up past 5 MiB
    await churn.write({ 'charts/a/blob.bin': randomBytes(3 * MiB) });
    await churn.commit(`blob ${i}`);
    await churn.push();
    const synced = await syncCheckout({ url, dir, policy, maxSize: 5 * MiB });
    assert.equal(synced.commit, await churn.head());
  }
});
