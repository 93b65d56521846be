/**
 * Dependencies through the sidecar: a chart depending on `@internal` (a private Helm repository,
 * the real `helm repo index` behind basic auth) fails until that repository is registered with
 * `POST /repo/dependency`; registering it makes the next update rebuild the chart even though
 * the commit did not change, and the published package carries the resolved dependency. A token
 * in a registered repository's query is used to fetch, but published, shown and logged nowhere.
 */
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parse } from 'yaml';
import { entries } from '../deps/compare.ts';
import { ChartRepoServer } from '../harness/chart-repo-server.ts';
import { fileUrl, type GitServers, startGitServers } from '../harness/git-server.ts';
import { Helm } from '../harness/helm.ts';
import { tempDir } from '../harness/paths.ts';
import { type SidecarProcess, startSidecarProcess } from '../harness/sidecar.ts';
import { chartFiles } from './fixtures.ts';

const AUTH = { username: 'reader', password: 'dep-repo-pw-4711' };

let tmp: { path: string; cleanup: () => Promise<void> };
let git: GitServers;
let charts: ChartRepoServer;
let sidecar: SidecarProcess;
let helm: Helm;

before(async () => {
  tmp = await tempDir('chartsync-deps-');
  helm = new Helm(tmp.path);
  const archives = join(tmp.path, 'archives');
  await mkdir(archives);
  for (const version of ['1.0.0', '1.1.0', '2.0.0']) {
    const src = await tempDir('chartsync-dep-src-');
    const files = chartFiles('shared', 'shared', { version, greeting: `shared ${version}` });
    for (const [path, content] of Object.entries(files)) {
      await mkdir(join(src.path, path, '..'), { recursive: true });
      await writeFile(join(src.path, path), content);
    }
    await helm.run(['package', join(src.path, 'shared'), '--destination', archives]);
    await src.cleanup();
  }
  charts = await ChartRepoServer.start({ dir: archives, auth: AUTH });
  git = await startGitServers();
  sidecar = await startSidecarProcess({
    args: ['--storage-dir', join(tmp.path, 'storage'), '--allow-local-git'],
  });
});
after(async () => {
  await sidecar?.stop();
  await charts?.close();
  await git?.stop();
  await tmp?.cleanup();
});

test('a chart with an unregistered dependency repository fails; registering it publishes the chart', async () => {
  const repo = await git.repos.create(
    'with-deps',
    chartFiles('app', 'app', { dependencies: [{ name: 'shared', version: '1.x', repository: '@internal' }] }),
  );
  const first = await sidecar.client().upsertRepo({ name: 'with-deps', git: fileUrl(repo) });
  assert.equal(first.charts[0]?.action, 'failed');
  assert.match(first.charts[0]?.error ?? '', /internal/);

  const form = new URLSearchParams({ name: 'internal', addr: charts.url, ...AUTH });
  const registered = await fetch(`${sidecar.url}/repo/dependency`, { method: 'POST', body: form });
  assert.equal(registered.status, 200);

  const second = await sidecar.client().updateRepo('with-deps');
  assert.deepEqual(
    second.charts.map((c) => [c.name, c.version, c.action]),
    [['app', '1.0.0', 'published']],
  );
  await helm.addRepo('deps', `${sidecar.url}/charts/with-deps`);
  const rendered = await helm.template('deps/app', '1.0.0');
  assert.match(rendered, /greeting: "shared 1\.1\.0"/, 'the highest 1.x version was resolved and packaged');
  assert.ok(
    charts.requests.some((r) => r.authorization?.startsWith('Basic ')),
    'credentials were sent',
  );
  assert.doesNotMatch(sidecar.logs.join('\n'), new RegExp(AUTH.password));
  // The layers under the sync log through the sidecar's logger (LOG_LEVEL=debug here): the
  // dependency choice made on a build thread, and the git commands of the fetch.
  const records = sidecar.records();
  const resolved = records.find((r) => r.msg === 'dependency resolved');
  assert.ok(resolved, 'the dependency choice is logged');
  assert.deepEqual(
    [resolved.repo, resolved.chart, resolved.dependency, resolved.version, resolved.how],
    ['with-deps', 'app', 'shared', '1.1.0', 'downloaded'],
  );
  assert.doesNotMatch(String(resolved.from), /reader|dep-repo-pw/, 'the logged URL has no credentials');
  assert.ok(
    records.some((r) => r.msg === 'git command done' && r.repo === 'with-deps'),
    'the git layer logs through the sync',
  );

  const again = await sidecar.client().updateRepo('with-deps');
  assert.equal(again.changed, false);
});

test('the charts of one sync share the repository index: fetched once per build thread, not per chart', async () => {
  const threads = 2;
  const count = 8;
  const own = await startSidecarProcess({
    args: ['--storage-dir', join(tmp.path, 'storage-shared-index'), '--allow-local-git'],
    env: { CHARTSYNC_BUILD_THREADS: String(threads) },
  });
  try {
    await own.client().upsertDependency({ name: 'internal', url: charts.url, ...AUTH });
    const files: Record<string, string> = {};
    for (let i = 0; i < count; i++) {
      Object.assign(
        files,
        chartFiles(`app${i}`, `app${i}`, {
          dependencies: [{ name: 'shared', version: '1.x', repository: '@internal' }],
        }),
      );
    }
    const repo = await git.repos.create('shared-index', files);
    const before = charts.requestsFor('index.yaml').length;
    const result = await own.client().upsertRepo({ name: 'shared-index', git: fileUrl(repo) });
    assert.equal(result.charts.filter((c) => c.action === 'published').length, count, JSON.stringify(result));
    const fetched = charts.requestsFor('index.yaml').length - before;
    assert.ok(fetched >= 1 && fetched <= threads, `index fetched ${fetched} times for ${count} charts`);
  } finally {
    await own.stop();
  }
});

test("a token in a registered repository's query is used, but never published, shown or logged", async () => {
  const TOKEN = 'SEKRET7-tokdep-3a9f';
  const url = `${charts.url}/?token=${TOKEN}`;
  const registered = await fetch(`${sidecar.url}/repo/dependency`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'tokdep', url, ...AUTH }),
  });
  const answers = [await registered.text()];
  assert.equal(registered.status, 200, answers[0]);
  assert.equal(JSON.parse(answers[0] as string).url, `${charts.url}/`, 'shown without the query');
  const repo = await git.repos.create('tok-deps', {
    ...chartFiles('app', 'app', {
      dependencies: [{ name: 'shared', version: '1.x', repository: '@tokdep' }],
    }),
    // a dependency that fails: its error goes to the answer, the status and the log
    ...chartFiles('broken', 'broken', {
      dependencies: [{ name: 'shared', version: '9.x', repository: '@tokdep' }],
    }),
  });
  const result = await sidecar.client().upsertRepo({ name: 'tok-deps', git: fileUrl(repo) });
  assert.deepEqual(
    result.charts.map((c) => [c.name, c.action]),
    [
      ['app', 'published'],
      ['broken', 'failed'],
    ],
  );
  assert.match(result.charts[1]?.error ?? '', /no version satisfies the constraint/);
  assert.doesNotMatch(result.charts[1]?.error ?? '', /via mirror/, 'the repository is no mirror of itself');
  assert.ok(
    charts.requests.some((r) => r.path === '/index.yaml' && r.query === `?token=${TOKEN}`),
    'the index was fetched with the query',
  );

  // the published archive (served to anyone): its Chart.lock names the repository without the query
  const archive = await fetch(`${sidecar.url}/charts/tok-deps/app-1.0.0.tgz`);
  assert.equal(archive.status, 200);
  const files = entries(Buffer.from(await archive.arrayBuffer()));
  const lock = parse(files.get('app/Chart.lock')?.toString() ?? '');
  assert.deepEqual(lock.dependencies, [{ name: 'shared', repository: `${charts.url}/`, version: '1.1.0' }]);
  for (const [path, data] of files) assert.ok(!data.includes(TOKEN), `the archive's ${path} holds the token`);
  for (const path of ['/charts/tok-deps/index.yaml', '/repo/dependency', '/repo/tok-deps', '/repo'])
    answers.push(await (await fetch(`${sidecar.url}${path}`)).text());
  answers.push(JSON.stringify(result));
  for (const text of answers)
    assert.ok(!text.includes(TOKEN), `an answer holds the token: ${text.slice(0, 200)}`);
  const logged = sidecar
    .records()
    .find((r) => r.msg === 'dependency repository registered' && r.dependency === 'tokdep');
  assert.equal(logged?.url, `${charts.url}/`);
  assert.deepEqual(
    sidecar.logs.filter((l) => l.includes(TOKEN)),
    [],
    'log lines hold the token',
  );
});
