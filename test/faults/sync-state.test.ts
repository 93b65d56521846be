/**
 * What a sync remembers, against the running sidecar: failed charts are retried by every update
 * (a dependency repository that was down is asked again, though the commit did not move); a
 * chart still in git is never pruned, whatever its build result, also when the sync state is
 * gone (a new pod whose data dir was an emptyDir, a re-registration at another ref); prune and
 * `DELETE /repo/:name` remove only versions this repo published (its ownership record), never one
 * someone else uploaded, on the local and the ChartMuseum target.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ChartRepoServer } from '../harness/chart-repo-server.ts';
import { ChartMuseumApi } from '../harness/chartmuseum-api.ts';
import { type FixtureRepo, fileUrl } from '../harness/git-server.ts';
import { Helm } from '../harness/helm.ts';
import { tempDir } from '../harness/paths.ts';
import { type Answer, startWorld, type World } from '../security/world.ts';
import { chartFiles } from '../sidecar/fixtures.ts';

interface Chart {
  name: string;
  version: string;
  action: string;
  error?: string;
  reason?: string;
}

function charts(answer: { json: Record<string, unknown> }): Chart[] {
  return (answer.json.charts as Chart[]) ?? [];
}

function actions(answer: Answer): string[][] {
  return charts(answer).map((c) => [c.name, c.action]);
}

/** A chart `broken` in directory `b-dir` whose Chart.yaml no longer parses: its name cannot be read. */
const UNREADABLE = { 'b-dir/Chart.yaml': 'name: [broken\nversion: 1.0.0\n' };

/** Packages a chart with the real helm (someone else's upload). */
async function helmPackage(root: string, name: string, version: string, greeting: string): Promise<Buffer> {
  const src = join(root, `src-${name}-${version}`);
  for (const [path, content] of Object.entries(chartFiles(name, name, { version, greeting }))) {
    await mkdir(join(src, path, '..'), { recursive: true });
    await writeFile(join(src, path), content);
  }
  await new Helm(root).run(['package', join(src, name), '--destination', src]);
  return readFile(join(src, `${name}-${version}.tgz`));
}

/** The sidecar of `w` starts again with an empty data dir (and, optionally, empty storage bookkeeping). */
async function newPod(w: World, o: { wipeStorageBookkeeping?: boolean } = {}): Promise<void> {
  await w.sidecar.stop(5000);
  await rm(w.data, { recursive: true, force: true });
  if (o.wipeStorageBookkeeping) await rm(join(w.storage, '.chartsync'), { recursive: true, force: true });
  await w.restart();
}

async function breakChart(repo: FixtureRepo): Promise<void> {
  await repo.write(UNREADABLE);
  await repo.commit('b-dir: Chart.yaml broken');
  await repo.push();
}

/** A Helm repository served over HTTP holding `shared` 1.0.0, packaged by the real helm. */
async function sharedRepo(root: string): Promise<ChartRepoServer> {
  const helm = new Helm(root);
  const src = join(root, 'src');
  const archives = join(root, 'archives');
  await mkdir(archives, { recursive: true });
  for (const [path, content] of Object.entries(chartFiles('shared', 'shared'))) {
    await mkdir(join(src, path, '..'), { recursive: true });
    await writeFile(join(src, path), content);
  }
  await helm.run(['package', join(src, 'shared'), '--destination', archives]);
  return ChartRepoServer.start({ dir: archives });
}

describe('failed charts are retried', () => {
  let w: World;
  let deps: ChartRepoServer;
  let tmp: { path: string; cleanup: () => Promise<void> };
  before(async () => {
    tmp = await tempDir('chartsync-retry-');
    deps = await sharedRepo(tmp.path);
    w = await startWorld({ args: ['--allow-local-git'] });
  });
  after(async () => {
    await w?.stop();
    await deps?.close();
    await tmp?.cleanup();
  });

  test('a chart that failed while its dependency repository was down is rebuilt by the next update of the same commit', async () => {
    const reg = await w.api('POST', '/repo/dependency', { json: { name: 'deps', url: deps.url } });
    assert.equal(reg.status, 200, reg.text);
    const repo = await w.git.repos.create('retry', {
      ...chartFiles('app', 'app', {
        dependencies: [{ name: 'shared', version: '1.x', repository: '@deps' }],
      }),
      ...chartFiles('plain', 'plain'),
    });
    deps.override('index.yaml', { kind: 'body', status: 503, data: 'down for maintenance' });
    const first = await w.api('POST', '/repo/new', { json: { name: 'retry', git: fileUrl(repo) } });
    assert.equal(first.status, 200, first.text);
    const app = charts(first).find((c) => c.name === 'app');
    assert.equal(app?.action, 'failed', first.text);
    assert.equal(app?.reason, 'DependencyUnresolved', first.text);
    assert.equal(charts(first).find((c) => c.name === 'plain')?.action, 'published');

    // Still down: the update asks the repository again and reports the same failure.
    const asked = deps.requestsFor('index.yaml').length;
    const again = await w.api('POST', '/repo/retry/update');
    assert.equal(charts(again).find((c) => c.name === 'app')?.action, 'failed', again.text);
    assert.ok(deps.requestsFor('index.yaml').length > asked, 'the dependency repository was asked again');

    deps.clearOverrides();
    const back = await w.api('POST', '/repo/retry/update');
    assert.equal(back.status, 200, back.text);
    assert.equal(back.json.commit, first.json.commit, 'same commit');
    assert.deepEqual(
      charts(back).map((c) => [c.name, c.action]),
      [
        ['app', 'published'],
        ['plain', 'unchanged'],
      ],
    );
    // All built now: the no-change path answers without building anything.
    const quiet = deps.requestsFor('index.yaml').length;
    const idle = await w.api('POST', '/repo/retry/update');
    assert.equal(idle.json.changed, false);
    assert.deepEqual(
      charts(idle).map((c) => c.action),
      ['unchanged', 'unchanged'],
    );
    assert.equal(
      deps.requestsFor('index.yaml').length,
      quiet,
      'nothing to retry: the repository is not asked',
    );
  });
});

describe('lost sync state never prunes a chart that is still in git (local target)', () => {
  let w: World;
  before(async () => {
    w = await startWorld({ args: ['--allow-local-git'] });
  });
  after(async () => {
    await w?.stop();
  });
  const stored = async (repo: string) =>
    (await readdir(join(w.storage, repo))).filter((f) => f.endsWith('.tgz')).sort();

  test('new pod (empty data dir): a chart whose Chart.yaml no longer parses keeps its published versions', async () => {
    const repo = await w.git.repos.create('pod', {
      ...chartFiles('keep', 'keep'),
      ...chartFiles('b-dir', 'broken'),
    });
    const first = await w.api('POST', '/repo/new', { json: { name: 'pod', git: fileUrl(repo) } });
    assert.deepEqual(actions(first), [
      ['broken', 'published'],
      ['keep', 'published'],
    ]);
    await breakChart(repo);
    await newPod(w);
    // The operator registers again after a restart.
    const again = await w.api('POST', '/repo/new', { json: { name: 'pod', git: fileUrl(repo) } });
    assert.equal(again.status, 200, again.text);
    const failed = charts(again).find((c) => c.action === 'failed');
    assert.equal(failed?.reason, 'InvalidChart', again.text);
    assert.ok(!charts(again).some((c) => c.action === 'pruned'), again.text);
    assert.deepEqual(await stored('pod'), ['broken-1.0.0.tgz', 'keep-1.0.0.tgz']);
    const index = (await w.api('GET', '/charts/pod/index.yaml', { token: null })).text;
    assert.match(index, /broken-1\.0\.0\.tgz/, 'still listed in the index');
  });

  test('state lost on both volumes: a chart that cannot be named blocks pruning; once fixed, prune resumes', async () => {
    const repo = await w.git.repos.create('gone', {
      ...chartFiles('keep', 'keep'),
      ...chartFiles('b-dir', 'broken'),
      ...chartFiles('old', 'old'),
    });
    assert.equal(
      (await w.api('POST', '/repo/new', { json: { name: 'gone', git: fileUrl(repo) } })).status,
      200,
    );
    await breakChart(repo);
    await repo.remove(['old']);
    await repo.commit('old removed');
    await repo.push();
    await newPod(w, { wipeStorageBookkeeping: true });
    const again = await w.api('POST', '/repo/new', { json: { name: 'gone', git: fileUrl(repo) } });
    assert.equal(again.status, 200, again.text);
    assert.ok(!charts(again).some((c) => c.action === 'pruned'), again.text);
    assert.deepEqual(await stored('gone'), ['broken-1.0.0.tgz', 'keep-1.0.0.tgz', 'old-1.0.0.tgz']);

    await repo.write(chartFiles('b-dir', 'broken'));
    await repo.commit('b-dir fixed');
    await repo.push();
    const fixed = await w.api('POST', '/repo/gone/update');
    assert.equal(fixed.status, 200, fixed.text);
    // `old` was published before the bookkeeping was lost: nothing says this repo published it,
    // so it is not pruned (never delete what might be someone else's); the rest is unchanged.
    assert.deepEqual(await stored('gone'), ['broken-1.0.0.tgz', 'keep-1.0.0.tgz', 'old-1.0.0.tgz']);
    assert.ok(!charts(fixed).some((c) => c.action === 'failed'), fixed.text);
  });

  test('re-registration at another ref where the chart is broken: nothing pruned', async () => {
    const repo = await w.git.repos.create('reref', {
      ...chartFiles('keep', 'keep'),
      ...chartFiles('b-dir', 'broken'),
    });
    assert.equal(
      (await w.api('POST', '/repo/new', { json: { name: 'reref', git: fileUrl(repo) } })).status,
      200,
    );
    await repo.checkoutBranch('next', { create: true });
    await repo.write(UNREADABLE);
    await repo.commit('next: b-dir broken');
    await repo.push({ refspec: 'HEAD:refs/heads/next' });
    const moved = await w.api('POST', '/repo/new', {
      json: { name: 'reref', git: fileUrl(repo), ref: 'next' },
    });
    assert.equal(moved.status, 200, moved.text);
    assert.ok(!charts(moved).some((c) => c.action === 'pruned'), moved.text);
    assert.deepEqual(await stored('reref'), ['broken-1.0.0.tgz', 'keep-1.0.0.tgz']);
  });

  test('a chart removed from git is still pruned, also after a new pod (the state is kept with the storage)', async () => {
    const repo = await w.git.repos.create('prunes', {
      ...chartFiles('keep', 'keep'),
      ...chartFiles('old', 'old'),
    });
    assert.equal(
      (await w.api('POST', '/repo/new', { json: { name: 'prunes', git: fileUrl(repo) } })).status,
      200,
    );
    await newPod(w);
    await repo.remove(['old']);
    await repo.commit('old removed');
    await repo.push();
    const again = await w.api('POST', '/repo/new', { json: { name: 'prunes', git: fileUrl(repo) } });
    assert.deepEqual(actions(again), [
      ['keep', 'unchanged'],
      ['old', 'pruned'],
    ]);
    assert.deepEqual(await stored('prunes'), ['keep-1.0.0.tgz']);
  });
});

describe('only what this repo published is pruned or deleted', () => {
  let w: World;
  let cm: ChartMuseumApi;
  let tmp: { path: string; cleanup: () => Promise<void> };
  before(async () => {
    tmp = await tempDir('chartsync-owned-');
    cm = await new ChartMuseumApi({ root: join(tmp.path, 'museum') }).start();
    w = await startWorld({ args: ['--allow-local-git'], targetArgs: ['--chartmuseum-url', cm.url] });
  });
  after(async () => {
    await w?.stop();
    await cm?.stop();
    await tmp?.cleanup();
  });
  const museum = async (repo: string) =>
    (await readdir(join(tmp.path, 'museum', repo)).catch(() => [] as string[]))
      .filter((f) => f.endsWith('.tgz'))
      .sort();
  const upload = async (repo: string, data: Buffer) => {
    const res = await fetch(`${cm.url}/api/${repo}/charts`, { method: 'POST', body: new Uint8Array(data) });
    assert.equal(res.status, 201, await res.text());
  };

  test('[chartmuseum] versions someone else uploaded survive prune and DELETE /repo; ours go', async () => {
    await upload('team', await helmPackage(tmp.path, 'app', '1.0.0', 'uploaded by someone else'));
    await upload('team', await helmPackage(tmp.path, 'foreign', '2.0.0', 'not from git'));
    const repo = await w.git.repos.create('team', {
      ...chartFiles('app', 'app'),
      ...chartFiles('mine', 'mine'),
    });
    const first = await w.api('POST', '/repo/new', { json: { name: 'team', git: fileUrl(repo) } });
    assert.equal(first.status, 200, first.text);
    assert.deepEqual(actions(first), [
      ['app', 'conflict'],
      ['mine', 'published'],
    ]);
    assert.equal(charts(first).find((c) => c.name === 'app')?.reason, 'VersionConflict');
    assert.deepEqual(
      await museum('team'),
      ['app-1.0.0.tgz', 'foreign-2.0.0.tgz', 'mine-1.0.0.tgz'],
      'foreign-2.0.0 not pruned',
    );

    const gone = await w.api('DELETE', '/repo/team');
    assert.equal(gone.status, 200, gone.text);
    assert.deepEqual(
      await museum('team'),
      ['app-1.0.0.tgz', 'foreign-2.0.0.tgz'],
      'only mine-1.0.0 was deleted',
    );
  });

  test('[chartmuseum] new pod: nothing owned is forgotten for good — identical versions are owned again, then pruned normally; a broken chart is kept', async () => {
    const repo = await w.git.repos.create('pod', {
      ...chartFiles('keep', 'keep'),
      ...chartFiles('b-dir', 'broken'),
      ...chartFiles('old', 'old'),
    });
    assert.equal(
      (await w.api('POST', '/repo/new', { json: { name: 'pod', git: fileUrl(repo) } })).status,
      200,
    );
    await breakChart(repo);
    await newPod(w);
    const again = await w.api('POST', '/repo/new', { json: { name: 'pod', git: fileUrl(repo) } });
    assert.equal(again.status, 200, again.text);
    assert.ok(!charts(again).some((c) => c.action === 'pruned'), again.text);
    assert.deepEqual(await museum('pod'), ['broken-1.0.0.tgz', 'keep-1.0.0.tgz', 'old-1.0.0.tgz']);

    await repo.write(chartFiles('b-dir', 'broken'));
    await repo.remove(['old']);
    await repo.commit('b-dir fixed, old removed');
    await repo.push();
    const next = await w.api('POST', '/repo/pod/update');
    assert.deepEqual(actions(next), [
      ['broken', 'unchanged'],
      ['keep', 'unchanged'],
      ['old', 'pruned'],
    ]);
    const gone = await w.api('DELETE', '/repo/pod');
    assert.equal(gone.status, 200, gone.text);
    assert.deepEqual(await museum('pod'), []);
  });

  test('[local] an archive someone else put into the repo directory is never overwritten nor deleted', async () => {
    const local = await startWorld({ args: ['--allow-local-git'] });
    try {
      const repo = await local.git.repos.create('shared', chartFiles('mine', 'mine'));
      assert.equal(
        (await local.api('POST', '/repo/new', { json: { name: 'shared', git: fileUrl(repo) } })).status,
        200,
      );
      const theirs = await helmPackage(tmp.path, 'theirs', '3.0.0', 'copied in by hand');
      await writeFile(join(local.storage, 'shared/theirs-3.0.0.tgz'), theirs);
      // The repo now defines that very version, with other content: a conflict, the file stays.
      await repo.write(chartFiles('theirs', 'theirs', { version: '3.0.0', greeting: 'from git' }));
      await repo.commit('theirs 3.0.0 in git');
      await repo.push();
      const clash = await local.api('POST', '/repo/shared/update');
      assert.equal(clash.status, 200, clash.text);
      const c = charts(clash).find((x) => x.name === 'theirs');
      assert.equal(c?.action, 'conflict', clash.text);
      assert.equal(c?.reason, 'VersionConflict');
      assert.match(c?.error ?? '', /not published by this repo/);
      assert.deepEqual(
        await readFile(join(local.storage, 'shared/theirs-3.0.0.tgz')),
        theirs,
        'not overwritten',
      );
      const gone = await local.api('DELETE', '/repo/shared');
      assert.equal(gone.status, 200, gone.text);
      assert.deepEqual(
        await readdir(join(local.storage, 'shared')).then((f) => f.filter((n) => n.endsWith('.tgz'))),
        ['theirs-3.0.0.tgz'],
      );
      assert.deepEqual(await readFile(join(local.storage, 'shared/theirs-3.0.0.tgz')), theirs);
    } finally {
      await local.stop();
    }
  });

  test('[local] an archive replaced after chartsync published it (an upload with overwrite) survives prune and DELETE', async () => {
    const local = await startWorld({ args: ['--allow-local-git'] });
    try {
      const repo = await local.git.repos.create('replaced', {
        ...chartFiles('keep', 'keep'),
        ...chartFiles('gone', 'gone', { version: '2.0.0' }),
        ...chartFiles('late', 'late', { version: '4.0.0' }),
      });
      const first = await local.api('POST', '/repo/new', { json: { name: 'replaced', git: fileUrl(repo) } });
      assert.equal(first.status, 200, first.text);
      // someone else's content now sits under two versions this repo published (the index, ours,
      // still names our digest): ChartMuseum with --allow-overwrite writes over the file
      const other = await helmPackage(tmp.path, 'gone', '2.0.0', 'uploaded over it');
      await writeFile(join(local.storage, 'replaced/gone-2.0.0.tgz'), other);
      const other2 = await helmPackage(tmp.path, 'late', '4.0.0', 'uploaded over it too');
      await writeFile(join(local.storage, 'replaced/late-4.0.0.tgz'), other2);
      // removed from git: the prune must not delete what is no longer the archive it published
      await repo.remove(['gone']);
      await repo.commit('remove gone');
      await repo.push();
      const pruned = await local.api('POST', '/repo/replaced/update');
      assert.equal(pruned.status, 200, pruned.text);
      assert.deepEqual(
        await readFile(join(local.storage, 'replaced/gone-2.0.0.tgz')),
        other,
        'prune kept it',
      );
      const gone = await local.api('DELETE', '/repo/replaced');
      assert.equal(gone.status, 200, gone.text);
      assert.deepEqual(
        await readFile(join(local.storage, 'replaced/late-4.0.0.tgz')),
        other2,
        'DELETE kept it',
      );
      assert.ok(!existsSync(join(local.storage, 'replaced/keep-1.0.0.tgz')), 'ours went');
    } finally {
      await local.stop();
    }
  });
});
