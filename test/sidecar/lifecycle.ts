/**
 * The full lifecycle through the HTTP API, with real git and the real helm client, for one
 * publishing target: new → helm repo add/pull/template → change pushed → update → new version
 * served → no-change update → chart deleted in git is pruned → DELETE leaves nothing behind.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  type FixtureRepo,
  fileUrl,
  type GitServers,
  loggedGitCommands,
  startGitServers,
} from '../harness/git-server.ts';
import { Helm } from '../harness/helm.ts';
import { tempDir } from '../harness/paths.ts';
import { type SidecarProcess, startSidecarProcess } from '../harness/sidecar.ts';
import { chartFiles } from './fixtures.ts';
import { startTarget, type Target, type TargetKind } from './targets.ts';

export function lifecycleSuite(kind: TargetKind): void {
  let tmp: { path: string; cleanup: () => Promise<void> };
  let git: GitServers;
  let repo: FixtureRepo;
  let target: Target;
  let sidecar: SidecarProcess;
  let helm: Helm;
  const token = `token-${kind}-0123456789`;

  before(async () => {
    tmp = await tempDir(`chartsync-lifecycle-${kind}-`);
    git = await startGitServers();
    repo = await git.repos.create('mycharts', {
      ...chartFiles('charts/app', 'app', {
        dependencies: [{ name: 'lib', version: '1.x', repository: 'file://../lib' }],
      }),
      ...chartFiles('charts/lib', 'lib'),
      ...chartFiles('charts/other', 'other'),
    });
    target = await startTarget(kind, tmp.path);
    sidecar = await startSidecarProcess({
      args: [...target.args, '--allow-local-git'],
      env: target.env,
      token,
    });
    helm = new Helm(tmp.path);
  });
  after(async () => {
    await sidecar?.stop();
    await target?.stop();
    await git?.stop();
    await tmp?.cleanup();
  });

  /** What `run` answered, and the git commands the sidecar ran for myrepo meanwhile (debug log). */
  async function withGitCommands<T>(run: () => Promise<T>): Promise<{ value: T; git: string[] }> {
    const from = sidecar.records().length;
    const value = await run();
    const ours = () =>
      sidecar
        .records()
        .slice(from)
        .filter((r) => r.repo === 'myrepo');
    // the log is written beside the answer: wait for the sync's last line
    for (let i = 0; i < 100 && !ours().some((r) => r.msg === 'sync finished'); i++)
      await new Promise((r) => setTimeout(r, 20));
    const git = loggedGitCommands(ours());
    return { value, git };
  }

  test(`[${kind}] new repo: every chart published, helm can add, pull and template it`, async () => {
    const { value: result, git: commands } = await withGitCommands(() =>
      sidecar.client().upsertRepo({ name: 'myrepo', git: fileUrl(repo) }),
    );
    // A first sync of HEAD asks the remote nothing before its one clone, and reads the trees'
    // ids from the index the clone wrote.
    assert.deepEqual(commands, ['clone']);
    assert.equal(result.name, 'myrepo');
    assert.equal(result.commit, await repo.head());
    assert.equal(result.changed, true);
    assert.deepEqual(
      result.charts.map((c) => [c.name, c.version, c.action]),
      [
        ['app', '1.0.0', 'published'],
        ['lib', '1.0.0', 'published'],
        ['other', '1.0.0', 'published'],
      ],
    );
    for (const c of result.charts) assert.match(c.digest, /^[0-9a-f]{64}$/);
    assert.deepEqual(await target.stored('myrepo'), ['app-1.0.0.tgz', 'lib-1.0.0.tgz', 'other-1.0.0.tgz']);

    await helm.addRepo('myrepo', target.helmUrl(sidecar.url, 'myrepo'), target.helmAuth, {
      passCredentials: true,
    });
    await helm.pull('myrepo/app', '1.0.0', tmp.path);
    const rendered = await helm.template('myrepo/app', '1.0.0');
    assert.match(rendered, /name: rel-app\n/);
    assert.match(rendered, /greeting: "hello from app"/);
    // the file:// dependency ships inside the package
    assert.match(rendered, /name: rel-lib\n/);
  });

  test(`[${kind}] a pushed change is published on update, and helm serves the new version`, async () => {
    await repo.write(
      chartFiles('charts/app', 'app', {
        version: '1.1.0',
        greeting: 'hello again',
        dependencies: [{ name: 'lib', version: '1.x', repository: 'file://../lib' }],
      }),
    );
    const commit = await repo.commit('app 1.1.0', new Date('2024-02-03T04:05:06Z'));
    await repo.push();
    const result = await sidecar.client().updateRepo('myrepo');
    assert.equal(result.commit, commit);
    assert.equal(result.changed, true);
    assert.deepEqual(
      result.charts.map((c) => [c.name, c.version, c.action]),
      [
        ['app', '1.1.0', 'published'],
        ['lib', '1.0.0', 'unchanged'],
        ['other', '1.0.0', 'unchanged'],
      ],
    );
    assert.deepEqual(await helm.versions('myrepo', 'app'), ['1.1.0', '1.0.0']);
    assert.match(await helm.template('myrepo/app', '1.1.0'), /greeting: "hello again"/);
  });

  test(`[${kind}] an update without changes says changed: false`, async () => {
    const { value: result, git: commands } = await withGitCommands(() =>
      sidecar.client().updateRepo('myrepo'),
    );
    // a local repository's refs are read from its files (git/refs.ts): not even ls-remote runs
    assert.deepEqual(commands, [], 'one look at the remote, nothing else');
    assert.equal(result.changed, false);
    assert.equal(result.commit, await repo.head());
    assert.deepEqual(
      result.charts.map((c) => c.action),
      ['unchanged', 'unchanged', 'unchanged'],
    );
  });

  test(`[${kind}] a chart deleted in git is pruned`, async () => {
    await repo.remove(['charts/other']);
    await repo.commit('drop other');
    await repo.push();
    const result = await sidecar.client().updateRepo('myrepo');
    assert.deepEqual(
      result.charts.filter((c) => c.action !== 'unchanged').map((c) => [c.name, c.version, c.action]),
      [['other', '1.0.0', 'pruned']],
    );
    assert.deepEqual(await target.stored('myrepo'), ['app-1.0.0.tgz', 'app-1.1.0.tgz', 'lib-1.0.0.tgz']);
    assert.deepEqual(await helm.versions('myrepo', 'other'), []);
    const metrics = await (await fetch(`${sidecar.url}/metrics`)).text();
    assert.match(metrics, /chartsync_charts_total\{repo="myrepo",action="published"\} 4/);
    assert.match(metrics, /chartsync_charts_total\{repo="myrepo",action="pruned"\} 1/);
    assert.match(metrics, /chartsync_syncs_total\{repo="myrepo",result="unchanged"\} 1/);
  });

  test(`[${kind}] DELETE /repo/:name leaves nothing behind`, async () => {
    await sidecar.client().deleteRepo('myrepo');
    assert.deepEqual(await target.stored('myrepo'), []);
    if (kind === 'local')
      assert.equal(existsSync(join(tmp.path, 'storage/myrepo')), false, 'the repo directory is gone');
    assert.equal(existsSync(join(target.dataDir, 'clones/myrepo')), false, 'the clone is gone');
    assert.equal(existsSync(join(target.dataDir, 'state/myrepo')), false, 'the sync state is gone');
    assert.doesNotMatch(await readFile(join(target.dataDir, 'registry.json'), 'utf8'), /myrepo/);
    await assert.rejects(sidecar.client().getRepo('myrepo'), { status: 404, code: 'not_found' });
    assert.deepEqual(await sidecar.client().listRepos(), []);
  });
}
