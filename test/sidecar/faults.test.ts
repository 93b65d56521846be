/**
 * Faults and edge cases with real parts: the git server goes down, ChartMuseum goes down, one
 * chart of a repo is invalid, a version is re-published with other content, concurrent updates.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type FixtureRepo, type GitServers, startGitServers } from '../harness/git-server.ts';
import { tempDir } from '../harness/paths.ts';
import { type SidecarProcess, startSidecarProcess } from '../harness/sidecar.ts';
import { chartFiles } from './fixtures.ts';
import { startTarget, type Target } from './targets.ts';

let tmp: { path: string; cleanup: () => Promise<void> };
let git: GitServers;

before(async () => {
  tmp = await tempDir('chartsync-faults-');
  git = await startGitServers({ http: true });
});
after(async () => {
  await git?.stop();
  await tmp?.cleanup();
});

async function setup(kind: 'local' | 'chartmuseum', name: string, files: Record<string, string>) {
  const repo = await git.repos.create(name, files);
  const target = await startTarget(kind, join(tmp.path, name));
  const sidecar = await startSidecarProcess({
    args: [...target.args, '--allow-insecure-git'],
    env: target.env,
  });
  return { repo, target, sidecar, url: git.http?.url(name) as string };
}

describe('git server down', () => {
  let s: { repo: FixtureRepo; target: Target; sidecar: SidecarProcess; url: string };
  before(async () => {
    s = await setup('local', 'gitdown', chartFiles('app', 'app'));
  });
  after(async () => {
    await s?.sidecar.stop();
    await s?.target.stop();
  });

  test('an update answers 502 naming git, and what was published stays', async () => {
    await s.sidecar.client().upsertRepo({ name: 'gitdown', git: s.url });
    const storage = join(tmp.path, 'gitdown/storage/gitdown');
    const index = await readFile(join(storage, 'index.yaml'), 'utf8');
    await git.http?.stop();
    await assert.rejects(
      s.sidecar.client().updateRepo('gitdown'),
      (err: { status: number; code: string; message: string }) => {
        assert.equal(err.status, 502);
        assert.equal(err.code, 'upstream_failed');
        assert.match(err.message, /127\.0\.0\.1/);
        return true;
      },
    );
    assert.deepEqual(await s.target.stored('gitdown'), ['app-1.0.0.tgz']);
    assert.equal(await readFile(join(storage, 'index.yaml'), 'utf8'), index);
    const view = await s.sidecar.client().getRepo('gitdown');
    assert.equal(view.lastSync?.error?.error, 'upstream_failed');
    const res = await fetch(`${s.sidecar.url}/charts/gitdown/app-1.0.0.tgz`);
    assert.equal(res.status, 200, 'the chart is still served');
  });
});

describe('one invalid chart, conflicts, concurrent updates', () => {
  let s: { repo: FixtureRepo; target: Target; sidecar: SidecarProcess; url: string };
  before(async () => {
    // a repo of its own on file://, so the http server stopped above does not matter
    const repo = await git.repos.create('mixed', {
      ...chartFiles('charts/good', 'good'),
      ...chartFiles('charts/lib', 'lib'),
      'charts/broken/Chart.yaml': 'apiVersion: v2\nname: broken\nversion: not-a-version\n',
    });
    const target = await startTarget('local', join(tmp.path, 'mixed'));
    const sidecar = await startSidecarProcess({ args: [...target.args, '--allow-local-git'] });
    s = { repo, target, sidecar, url: `file://${repo.bare}` };
  });
  after(async () => {
    await s?.sidecar.stop();
    await s?.target.stop();
  });

  test('the invalid chart fails with a message naming it, the others are published', async () => {
    const result = await s.sidecar.client().upsertRepo({ name: 'mixed', git: s.url });
    const byName = Object.fromEntries(result.charts.map((c) => [c.name, c]));
    assert.equal(byName.good?.action, 'published');
    assert.equal(byName.lib?.action, 'published');
    const broken = result.charts.find((c) => c.action === 'failed');
    assert.ok(broken, JSON.stringify(result.charts));
    assert.match(broken.name, /broken/);
    assert.match(broken.error ?? '', /version/i);
    assert.deepEqual(await s.target.stored('mixed'), ['good-1.0.0.tgz', 'lib-1.0.0.tgz']);
  });

  test('changed content under a published version is a conflict, and the published archive is kept', async () => {
    const before = await readFile(join(tmp.path, 'mixed/storage/mixed/lib-1.0.0.tgz'));
    await s.repo.write(chartFiles('charts/lib', 'lib', { greeting: 'changed without a version bump' }));
    await s.repo.commit('lib changed, same version');
    await s.repo.push();
    const result = await s.sidecar.client().updateRepo('mixed');
    const lib = result.charts.find((c) => c.name === 'lib');
    assert.equal(lib?.action, 'conflict');
    assert.match(lib?.error ?? '', /already published with different content/);
    assert.deepEqual(await readFile(join(tmp.path, 'mixed/storage/mixed/lib-1.0.0.tgz')), before);
    assert.equal(result.charts.find((c) => c.name === 'good')?.action, 'unchanged');
  });

  test('a rebuilt chart whose content did not change is not a conflict', async () => {
    // restore lib exactly; a new commit (new mtimes) must still count as unchanged content
    await s.repo.write(chartFiles('charts/lib', 'lib'));
    await s.repo.commit('lib restored', new Date('2024-06-01T00:00:00Z'));
    await s.repo.push();
    const result = await s.sidecar.client().updateRepo('mixed');
    assert.equal(result.charts.find((c) => c.name === 'lib')?.action, 'unchanged');
  });

  test('concurrent updates coalesce into at most one follow-up run, every caller sees the new commit', async () => {
    await s.repo.write(chartFiles('charts/good', 'good', { version: '1.1.0' }));
    const head = await s.repo.commit('good 1.1.0');
    await s.repo.push();
    const startedBefore = s.sidecar.records().filter((r) => r.msg === 'sync started').length;
    const results = await Promise.all(
      Array.from({ length: 6 }, () => s.sidecar.client().updateRepo('mixed')),
    );
    const started = s.sidecar.records().filter((r) => r.msg === 'sync started').length - startedBefore;
    assert.ok(started >= 1 && started <= 2, `expected 1-2 syncs, got ${started}`);
    for (const r of results) assert.equal(r.commit, head);
    assert.equal(
      results.filter((r) =>
        r.charts.some((c) => c.name === 'good' && c.version === '1.1.0' && c.action === 'published'),
      ).length >= 1,
      true,
    );
    assert.deepEqual(await s.target.stored('mixed'), ['good-1.0.0.tgz', 'good-1.1.0.tgz', 'lib-1.0.0.tgz']);
  });
});

describe('ChartMuseum down', () => {
  let s: { repo: FixtureRepo; target: Target; sidecar: SidecarProcess; url: string };
  before(async () => {
    const repo = await git.repos.create('cmdown', chartFiles('app', 'app'));
    const target = await startTarget('chartmuseum', join(tmp.path, 'cmdown'));
    const sidecar = await startSidecarProcess({
      args: [...target.args, '--allow-local-git'],
      env: target.env,
    });
    s = { repo, target, sidecar, url: `file://${repo.bare}` };
  });
  after(async () => {
    await s?.sidecar.stop();
    await s?.target.stop();
  });

  test('the sync fails and says so; the next update after ChartMuseum is back publishes', async () => {
    await s.sidecar.client().upsertRepo({ name: 'cmdown', git: s.url });
    await s.repo.write(chartFiles('app', 'app', { version: '2.0.0' }));
    await s.repo.commit('app 2.0.0');
    await s.repo.push();
    await s.target.chartmuseum?.stop();
    const notReady = await fetch(`${s.sidecar.url}/readyz`);
    assert.equal(notReady.status, 503, 'not ready while ChartMuseum is unreachable');
    assert.match(((await notReady.json()) as { message: string }).message, /chartmuseum .* is not reachable/);
    await assert.rejects(
      s.sidecar.client().updateRepo('cmdown'),
      (err: { status: number; message: string }) => {
        assert.equal(err.status, 502);
        assert.match(err.message, /chartmuseum http:\/\/127\.0\.0\.1:\d+/);
        assert.match(err.message, /ECONNREFUSED/);
        return true;
      },
    );
    assert.equal((await s.sidecar.client().getRepo('cmdown')).lastSync?.error?.error, 'upstream_failed');
    await s.target.chartmuseum?.start();
    const result = await s.sidecar.client().updateRepo('cmdown');
    assert.deepEqual(
      result.charts.map((c) => [c.version, c.action]),
      [['2.0.0', 'published']],
    );
    assert.deepEqual(await s.target.stored('cmdown'), ['app-1.0.0.tgz', 'app-2.0.0.tgz']);
    const ready = await fetch(`${s.sidecar.url}/readyz`);
    assert.equal(ready.status, 200);
  });
});

describe('a published chart that becomes invalid', () => {
  test('keeps its published versions, even when the sidecar lost its sync state', async () => {
    const repo = await git.repos.create('breaks', { ...chartFiles('a', 'a'), ...chartFiles('b', 'b') });
    const storage = join(tmp.path, 'breaks/storage');
    const first = await startSidecarProcess({
      args: ['--storage-dir', storage, '--data-dir', join(tmp.path, 'breaks/data-1'), '--allow-local-git'],
    });
    try {
      await first.client().upsertRepo({ name: 'breaks', git: `file://${repo.bare}` });
    } finally {
      await first.stop();
    }
    await repo.write({ 'a/Chart.yaml': 'apiVersion: v2\nname: a\nversion: not-semver\n' });
    await repo.commit('a broken');
    await repo.push();
    // a new data dir: no memory of which directory published which chart
    const second = await startSidecarProcess({
      args: ['--storage-dir', storage, '--data-dir', join(tmp.path, 'breaks/data-2'), '--allow-local-git'],
    });
    try {
      const result = await second.client().upsertRepo({ name: 'breaks', git: `file://${repo.bare}` });
      assert.deepEqual(
        result.charts.map((c) => [c.name, c.action]),
        [
          ['a', 'failed'],
          ['b', 'unchanged'],
        ],
      );
      const stored = await readFile(join(storage, 'breaks/index.yaml'), 'utf8');
      assert.match(stored, /a-1\.0\.0\.tgz/, 'a is still listed');
    } finally {
      await second.stop();
    }
  });
});
