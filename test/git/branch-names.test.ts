/**
 * Branch names git allows beyond the plain alphabet (`+`, `@`, `=`, `#`, non-ASCII: renovate's
 * `renovate/@types-node`, a default branch `développement`) check out like any other, over git's
 * transport (smart HTTP) and from a local path: a first checkout clones them by name, and the
 * clone's HEAD then names that branch.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { syncCheckout } from '@chartsync/sidecar/git';
import {
  type FixtureRepo,
  fileUrl,
  fixtureGit,
  type GitServers,
  startGitServers,
} from '../harness/git-server.ts';

const BRANCHES = ['release+1', 'renovate/@types-node', 'a=b', 'issue#12', 'développement'];
const policy = { allowLocal: true, allowInsecure: true };
let servers: GitServers;
let repo: FixtureRepo;
const heads = new Map<string, string>();

before(async () => {
  servers = await startGitServers({ http: true });
  repo = await servers.repos.create('names', { 'charts/a/Chart.yaml': 'name: a\n' });
  for (const [i, b] of BRANCHES.entries()) {
    await repo.write({ 'charts/a/values.yaml': `i: ${i}\n` });
    heads.set(b, await repo.commit(b));
    await repo.push({ refspec: `HEAD:refs/heads/${b}` });
  }
});
after(async () => {
  await servers?.stop();
});

test('a branch with +, @, =, # or non-ASCII in its name checks out by full and short name', async () => {
  const urls = { http: servers.http?.url('names') ?? '', file: fileUrl(repo) };
  for (const [via, url] of Object.entries(urls)) {
    for (const [i, b] of BRANCHES.entries()) {
      for (const ref of [`refs/heads/${b}`, b]) {
        const dir = join(servers.dir, `co-${via}-${i}-${ref.length}`);
        const got = await syncCheckout({ url, ref, dir, policy });
        assert.equal(got.commit, heads.get(b), `${via} ${ref}`);
      }
    }
  }
});

test("the remote's default branch with such a name checks out as HEAD", async () => {
  await fixtureGit(['symbolic-ref', 'HEAD', 'refs/heads/développement'], repo.bare);
  const got = await syncCheckout({ url: fileUrl(repo), dir: join(servers.dir, 'co-head'), policy });
  assert.equal(got.commit, heads.get('développement'));
});
