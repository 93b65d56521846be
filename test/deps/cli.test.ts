/** `chartsync package --dependency-update --repo NAME=URL` end to end, compared with helm. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp, readFile, rm } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import type { ChartRepoServer } from '../harness/chart-repo-server.ts';
import { Helm } from '../harness/helm.ts';
import { chartsyncBin, tempDir } from '../harness/paths.ts';
import { assertSamePackage, helmPackage, lockedVersions } from './compare.ts';
import { startRepo, writeChart } from './fixtures.ts';

const run = promisify(execFile);

describe('chartsync package --dependency-update', () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let helm: Helm;
  let repo: ChartRepoServer;

  before(async () => {
    tmp = await tempDir('deps-cli-');
    helm = new Helm(join(tmp.path, 'home'));
    repo = await startRepo(helm, tmp.path, join(tmp.path, 'repo'), [
      { name: 'redis', version: '1.0.0' },
      { name: 'redis', version: '1.1.0' },
    ]);
    await helm.addRepo('stable', repo.url);
  });
  after(async () => {
    await repo?.close();
    await tmp?.cleanup();
  });

  test('resolves @name through --repo and packages what helm packages', async () => {
    const dir = await writeChart(join(tmp.path, 'app'), {
      name: 'app',
      version: '1.0.0',
      dependencies: [{ name: 'redis', version: '^1.0', repository: '@stable', alias: 'cache' }],
    });
    const out = join(tmp.path, 'out');
    const { stdout } = await run(
      chartsyncBin,
      ['package', dir, '--dependency-update', '--repo', `stable=${repo.url}`, '-d', out],
      {
        env: { ...process.env, SOURCE_DATE_EPOCH: '1700000000' },
      },
    );
    assert.match(stdout, /^app-1\.0\.0\.tgz sha256:[0-9a-f]{64}\n$/);
    const ours = await readFile(join(out, 'app-1.0.0.tgz'));
    assert.deepEqual(lockedVersions(ours, 'app'), ['1.1.0']);
    assertSamePackage(ours, await helmPackage(helm, dir, tmp.path, 'update'));
  });

  test('@name of a repository registered with a trailing slash locks the URL as helm does', async () => {
    // `helm repo add slashed URL/` keeps the slash, and `@slashed` locks the URL as registered.
    await helm.addRepo('slashed', `${repo.url}/`);
    const dir = await writeChart(join(tmp.path, 'slashed'), {
      name: 'slashed',
      version: '1.0.0',
      dependencies: [{ name: 'redis', version: '^1.0', repository: '@slashed' }],
    });
    const out = join(tmp.path, 'out-slashed');
    const env = { ...process.env, SOURCE_DATE_EPOCH: '1700000000' };
    const args = ['package', dir, '--dependency-update', '--repo', `slashed=${repo.url}/`, '-d', out];
    await run(chartsyncBin, args, { env });
    const ours = await readFile(join(out, 'slashed-1.0.0.tgz'));
    assertSamePackage(ours, await helmPackage(helm, dir, tmp.path, 'update'));
    // and the lock helm wrote is recognised, not refused as out of sync
    const locked = join(tmp.path, 'slashed-locked');
    await cp(dir, locked, { recursive: true });
    await helm.run(['dependency', 'update', locked]);
    await rm(join(locked, 'charts'), { recursive: true });
    await run(chartsyncBin, [...args.slice(0, 1), locked, ...args.slice(2)], { env });
  });

  test('one call fetches each repository index once per build thread, not once per chart', async () => {
    const dirs = await Promise.all(
      ['one', 'two', 'three', 'four', 'five', 'six'].map((name) =>
        writeChart(join(tmp.path, 'many', name), {
          name,
          version: '1.0.0',
          dependencies: [{ name: 'redis', version: '^1.0', repository: '@stable' }],
        }),
      ),
    );
    repo.requests.length = 0;
    const args = ['package', ...dirs, '-u', '--repo', `stable=${repo.url}`, '-d', join(tmp.path, 'out-many')];
    const { stdout } = await run(chartsyncBin, args, {
      env: { ...process.env, SOURCE_DATE_EPOCH: '1700000000' },
    });
    assert.equal(stdout.trim().split('\n').length, dirs.length);
    const threads = Math.min(availableParallelism(), dirs.length);
    assert.ok(
      repo.requestsFor('index.yaml').length <= threads,
      `${repo.requestsFor('index.yaml').length} index fetches for ${threads} threads`,
    );
  });

  test('an unsatisfiable dependency fails with the chart, the dependency and the versions', async () => {
    const dir = await writeChart(join(tmp.path, 'bad'), {
      name: 'bad',
      version: '1.0.0',
      dependencies: [{ name: 'redis', version: '^2', repository: repo.url }],
    });
    await assert.rejects(
      run(chartsyncBin, ['package', dir, '--dependency-update', '-d', join(tmp.path, 'out2')]),
      (err: Error & { code?: number; stderr?: string }) => {
        assert.equal(err.code, 1);
        assert.match(
          err.stderr ?? '',
          /dependency 'redis' \(\^2 from http:\/\/127\.0\.0\.1:\d+\): no version satisfies the constraint; available: 1\.1\.0, 1\.0\.0/,
        );
        return true;
      },
    );
  });
});
