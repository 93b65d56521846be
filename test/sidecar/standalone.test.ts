/**
 * Standalone mode: `chartsync serve --config` registers and schedules repos with node-cron and
 * serves them under /charts/ to the real helm; `chartsync sync` syncs once for pipelines; SIGTERM
 * ends in-flight syncs cleanly.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { fileUrl, type GitServers, startGitServers } from '../harness/git-server.ts';
import { Helm } from '../harness/helm.ts';
import { tempDir } from '../harness/paths.ts';
import { chartsyncScript, type SidecarProcess, startSidecarProcess } from '../harness/sidecar.ts';
import { chartFiles } from './fixtures.ts';

const exec = promisify(execFile);

let tmp: { path: string; cleanup: () => Promise<void> };
let git: GitServers;

before(async () => {
  tmp = await tempDir('chartsync-standalone-');
  git = await startGitServers();
});
after(async () => {
  await git?.stop();
  await tmp?.cleanup();
});

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

async function indexVersions(url: string, chart: string): Promise<string[] | undefined> {
  const res = await fetch(url);
  if (!res.ok) return undefined;
  const index = parse(await res.text()) as { entries: Record<string, { version: string }[]> };
  return index.entries[chart]?.map((e) => e.version);
}

describe('serve --config', () => {
  let sidecar: SidecarProcess;
  let repo: Awaited<ReturnType<GitServers['repos']['create']>>;

  before(async () => {
    repo = await git.repos.create('scheduled', chartFiles('app', 'app'));
    const config = join(tmp.path, 'chartsync.yaml');
    await writeFile(
      config,
      [
        'storageDir: ./standalone-storage',
        'allowLocalGit: true',
        'dependencies:',
        '  - name: stable',
        '    url: https://charts.example.com/stable',
        'repos:',
        '  - name: scheduled',
        `    git: ${fileUrl(repo)}`,
        '    schedule: "*/1 * * * * *"',
        '',
      ].join('\n'),
    );
    sidecar = await startSidecarProcess({ args: ['--config', config] });
  });
  after(async () => {
    await sidecar?.stop();
  });

  test('the configured repo is synced at start and served under /charts to helm', async () => {
    const url = `${sidecar.url}/charts/scheduled/index.yaml`;
    assert.deepEqual(await until('first sync', () => indexVersions(url, 'app')), ['1.0.0']);
    const helm = new Helm(tmp.path);
    await helm.addRepo('scheduled', `${sidecar.url}/charts/scheduled`);
    assert.match(await helm.template('scheduled/app', '1.0.0'), /greeting: "hello from app"/);
    const deps = await sidecar.client().listDependencies();
    assert.deepEqual(
      deps.map((d) => d.name),
      ['stable'],
    );
  });

  test('the schedule picks up a pushed change without any API call', async () => {
    await repo.write(chartFiles('app', 'app', { version: '1.1.0' }));
    await repo.commit('app 1.1.0');
    await repo.push();
    const url = `${sidecar.url}/charts/scheduled/index.yaml`;
    const versions = await until('scheduled sync', async () => {
      const v = await indexVersions(url, 'app');
      return v?.includes('1.1.0') ? v : undefined;
    });
    assert.deepEqual(versions, ['1.1.0', '1.0.0']);
    assert.ok(sidecar.logs.some((l) => l.includes('scheduled updates')));
  });

  test('the chart routes serve nothing outside a repo directory', async () => {
    for (const path of [
      '/charts/scheduled/../../chartsync.yaml',
      '/charts/.chartsync/registry.json',
      '/charts/scheduled/x.yaml',
    ]) {
      const res = await fetch(sidecar.url + path);
      assert.equal(res.status, 404, path);
    }
  });
});

describe('schedules registered through the API', () => {
  test('POST /repo/new with a schedule keeps the repo in sync; an invalid schedule is a 400', async () => {
    const repo = await git.repos.create('api-scheduled', chartFiles('app', 'app'));
    const sidecar = await startSidecarProcess({
      args: ['--storage-dir', join(tmp.path, 'api-sched'), '--allow-local-git'],
    });
    try {
      await assert.rejects(
        sidecar.client().upsertRepo({ name: 'bad', git: fileUrl(repo), schedule: 'every day' }),
        {
          status: 400,
          code: 'invalid_input',
        },
      );
      await assert.rejects(
        sidecar.client().upsertRepo({ name: 'bad', git: fileUrl(repo), everyMinutes: 7 }),
        /use "schedule"/,
      );
      await sidecar
        .client()
        .upsertRepo({ name: 'api-scheduled', git: fileUrl(repo), schedule: '*/1 * * * * *' });
      await repo.write(chartFiles('app', 'app', { version: '3.0.0' }));
      await repo.commit('app 3.0.0');
      await repo.push();
      const url = `${sidecar.url}/charts/api-scheduled/index.yaml`;
      await until('the scheduled sync', async () =>
        (await indexVersions(url, 'app'))?.includes('3.0.0') ? true : undefined,
      );
    } finally {
      await sidecar.stop();
    }
  });
});

describe('chartsync sync (one-shot)', () => {
  test('syncs once, prints one line per chart, and a second run rebuilds nothing', async () => {
    const repo = await git.repos.create('oneshot', { ...chartFiles('a', 'a'), ...chartFiles('b', 'b') });
    const storage = join(tmp.path, 'oneshot-storage');
    const args = [
      chartsyncScript,
      'sync',
      '--name',
      'oneshot',
      '--git',
      fileUrl(repo),
      '--storage-dir',
      storage,
    ];
    const first = await exec(process.execPath, args);
    assert.match(first.stdout, /^published\s+a-1\.0\.0\.tgz sha256:[0-9a-f]{64}$/m);
    assert.match(first.stdout, /^published\s+b-1\.0\.0\.tgz sha256:/m);
    assert.deepEqual((await readdir(join(storage, 'oneshot'))).sort(), [
      'a-1.0.0.tgz',
      'b-1.0.0.tgz',
      'index.yaml',
    ]);
    const second = await exec(process.execPath, [...args, '--json']);
    const result = JSON.parse(second.stdout) as { changed: boolean; charts: { action: string }[] };
    assert.equal(result.changed, false);
    assert.deepEqual(
      result.charts.map((c) => c.action),
      ['unchanged', 'unchanged'],
    );
  });
  test('bad input exits 2 naming the flag', async () => {
    await assert.rejects(
      exec(process.execPath, [chartsyncScript, 'sync', '--name', 'x', '--git', 'file:///nope']),
      (err: { code: number; stderr: string }) => {
        assert.equal(err.code, 2);
        assert.match(err.stderr, /--storage-dir is required/);
        return true;
      },
    );
  });
});

describe('graceful shutdown', () => {
  test('SIGTERM during a sync: the answer is the result or 503, the process exits 0, storage stays consistent', async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 40; i++) Object.assign(files, chartFiles(`charts/c${i}`, `c${i}`));
    const repo = await git.repos.create('many', files);
    const storage = join(tmp.path, 'shutdown-storage');
    const start = () => startSidecarProcess({ args: ['--storage-dir', storage, '--allow-local-git'] });
    let sidecar = await start();
    const pending = fetch(`${sidecar.url}/repo/new`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'many', git: fileUrl(repo) }),
    }).then(
      (r) => r.status,
      () => 0,
    );
    await sidecar.waitForLog(/sync started/);
    const code = await sidecar.stop();
    assert.equal(code, 0);
    assert.ok([200, 503].includes(await pending), 'the in-flight request got an answer');
    assert.ok(sidecar.logs.some((l) => l.includes('shutting down')));
    // started without a token: said so as a warning, not silently
    assert.ok(
      sidecar.logs.some((l) => /"level":40,.*no API token/.test(l)),
      'a sidecar without a token warns that its /repo routes are open',
    );

    sidecar = await start();
    try {
      const result = await sidecar.client().updateRepo('many');
      assert.equal(result.charts.length, 40);
      const index = parse(await readFile(join(storage, 'many/index.yaml'), 'utf8')) as {
        entries: Record<string, unknown>;
      };
      const archives = (await readdir(join(storage, 'many'))).filter((f) => f.endsWith('.tgz'));
      assert.equal(Object.keys(index.entries).length, 40);
      assert.equal(archives.length, 40);
    } finally {
      await sidecar.stop();
    }
  });
});
