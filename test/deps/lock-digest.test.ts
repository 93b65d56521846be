import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { formatLockTime, hashReq, hashV2Req } from '@chartsync/sidecar/chart/dependencies';
import { parse, stringify } from 'yaml';
import type { ChartRepoServer } from '../harness/chart-repo-server.ts';
import { Helm } from '../harness/helm.ts';
import { tempDir } from '../harness/paths.ts';
import { assertSamePackage, chartsyncPackage, entries, helmPackage } from './compare.ts';
import { startRepo, writeChart } from './fixtures.ts';

/** Subchart name -> version, from the packaged archive. */
function versionsOf(archive: Buffer, chart: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [path, data] of entries(archive)) {
    const m = new RegExp(`^${chart}/charts/([^/]+)/Chart\\.yaml$`).exec(path);
    if (m) out[m[1] as string] = parse(data.toString()).version;
  }
  return out;
}

describe('lock digest (helm HashReq) against the real helm', () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let helm: Helm;
  let repo: ChartRepoServer;

  before(async () => {
    tmp = await tempDir('deps-lock-');
    helm = new Helm(join(tmp.path, 'home'));
    repo = await startRepo(helm, tmp.path, join(tmp.path, 'repo'), [
      { name: 'redis', version: '1.2.0' },
      { name: 'redis', version: '1.3.0' },
      { name: 'common', version: '0.1.0' },
    ]);
    await helm.addRepo('stable', repo.url);
  });
  after(async () => {
    await repo?.close();
    await tmp?.cleanup();
  });

  test('matches the digest helm writes, HTML-escaped characters, aliases, tags and import-values included', async () => {
    const dependencies = [
      {
        name: 'redis',
        version: '>= 1.2, < 2.0',
        repository: repo.url,
        alias: 'cache',
        condition: 'cache.enabled&more',
      },
      { name: 'redis', version: '~1.2.0', repository: '@stable', tags: ['a', 'b'] },
      {
        name: 'common',
        version: '0.1.x',
        repository: `${repo.url}/`,
        'import-values': ['defaults', { child: 'z.y', parent: 'a<b' }],
      },
    ];
    const dir = await writeChart(join(tmp.path, 'app'), { name: 'app', version: '1.0.0', dependencies });
    await helm.run(['dependency', 'update', dir]);
    const lock = parse(await readFile(join(dir, 'Chart.lock'), 'utf8'));
    const chart = parse(await readFile(join(dir, 'Chart.yaml'), 'utf8'));
    // helm hashes after replacing @name by the repository URL.
    const req = chart.dependencies.map((d: { repository: string }) =>
      d.repository === '@stable' ? { ...d, repository: repo.url } : d,
    );
    assert.deepEqual(
      lock.dependencies.map((d: { version: string }) => d.version),
      ['1.3.0', '1.2.0', '0.1.0'],
    );
    assert.equal(hashReq(req, lock.dependencies), lock.digest);
    assert.notEqual(hashReq(chart.dependencies, lock.dependencies), lock.digest);
  });

  test('a lock whose entries are not in Chart.yaml order pins each dependency by name, as helm builds it', async () => {
    const dependencies = [
      { name: 'redis', version: '^1.2', repository: repo.url },
      { name: 'common', version: '0.1.x', repository: repo.url },
    ];
    const locked = [
      { name: 'common', repository: repo.url, version: '0.1.0' },
      { name: 'redis', repository: repo.url, version: '1.2.0' },
    ];
    const lock = {
      dependencies: locked,
      digest: hashReq(dependencies, locked),
      generated: '2024-01-02T03:04:05Z',
    };
    const dir = await writeChart(join(tmp.path, 'reordered'), {
      name: 'reordered',
      version: '1.0.0',
      dependencies,
      files: { 'Chart.lock': stringify(lock) },
    });
    const ours = await chartsyncPackage(dir);
    assert.deepEqual(versionsOf(ours, 'reordered'), { common: '0.1.0', redis: '1.2.0' });
    assertSamePackage(ours, await helmPackage(helm, dir, tmp.path, 'build'));
  });

  test('Helm 2 digests of requirements.lock and lock timestamps', () => {
    // Helm 2's HashV2Req: sha256 of {"dependencies":[...]} with Go's encoding.
    const req = [{ name: 'a', version: '^1.0', repository: 'https://x/y' }];
    assert.equal(
      hashV2Req(req),
      'sha256:' +
        createHash('sha256')
          .update('{"dependencies":[{"name":"a","version":"^1.0","repository":"https://x/y"}]}')
          .digest('hex'),
    );
    assert.equal(formatLockTime(new Date('2024-05-06T07:08:09.000Z')), '2024-05-06T07:08:09Z');
    assert.equal(formatLockTime(new Date('2024-05-06T07:08:09.120Z')), '2024-05-06T07:08:09.12Z');
  });
});
