/**
 * Dependency resolution compared with the real helm against real HTTP chart repositories whose
 * index.yaml is built by `helm repo index`: same versions chosen, same packaged files.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { ChartError } from '@chartsync/sidecar';
import { parse, stringify } from 'yaml';
import type { ChartRepoServer } from '../harness/chart-repo-server.ts';
import { Helm } from '../harness/helm.ts';
import { tempDir } from '../harness/paths.ts';
import { assertSamePackage, chartsyncPackage, entries, helmPackage, lockedVersions } from './compare.ts';
import { type ChartSpec, startRepo, writeChart } from './fixtures.ts';

const redisVersions = ['1.2.0', '1.2.5', '1.3.0', '1.4.0-beta.1', '2.0.0', '2.1.0'];
const publicCharts: ChartSpec[] = [
  ...redisVersions.map((version) => ({ name: 'redis', version })),
  {
    name: 'common',
    version: '0.1.0',
    files: { 'templates/_helpers.tpl': '{{- define "common.x" -}}x{{- end -}}\n' },
  },
  {
    name: 'common',
    version: '0.2.0',
    files: { 'templates/_helpers.tpl': '{{- define "common.x" -}}y{{- end -}}\n' },
  },
  // A chart that ships its own subchart, to check nested content survives.
  {
    name: 'stack',
    version: '1.0.0',
    files: { 'charts/inner/Chart.yaml': 'apiVersion: v2\nname: inner\nversion: 0.0.1\n' },
  },
];

describe('dependency resolution matches helm dependency build/update + helm package', () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let helm: Helm;
  let stable: ChartRepoServer;
  let priv: ChartRepoServer;
  let n = 0;
  const auth = { username: 'deploy', password: 'p@ss:w0rd' };
  const chartDir = (name: string) => join(tmp.path, 'charts', `${n++}`, name);

  before(async () => {
    tmp = await tempDir('deps-helm-');
    helm = new Helm(join(tmp.path, 'home'));
    stable = await startRepo(helm, tmp.path, join(tmp.path, 'stable'), publicCharts, { basePath: '/stable' });
    priv = await startRepo(
      helm,
      tmp.path,
      join(tmp.path, 'private'),
      [
        { name: 'secret-app', version: '1.0.0' },
        { name: 'secret-app', version: '1.1.0' },
      ],
      { auth },
    );
    await helm.addRepo('stable', stable.url);
    await helm.addRepo('private', priv.url, auth);
  });
  after(async () => {
    await stable?.close();
    await priv?.close();
    await tmp?.cleanup();
  });

  const repositories = () => [
    { name: 'stable', url: stable.url },
    { name: 'private', url: priv.url, ...auth },
  ];

  async function compareWithHelm(spec: ChartSpec, mode: 'build' | 'update' = 'update'): Promise<Buffer> {
    const dir = await writeChart(chartDir(spec.name), spec);
    const ours = await chartsyncPackage(dir, { repositories: repositories() });
    const helms = await helmPackage(helm, dir, tmp.path, mode);
    assertSamePackage(ours, helms);
    return ours;
  }

  const constraints: [string, string][] = [
    ['1.x', '1.3.0'],
    ['^1.2', '1.3.0'],
    ['~1.2.3', '1.2.5'],
    ['1.2', '1.2.5'],
    ['>= 1.2, < 2.0', '1.3.0'],
    ['>= 1.2.1 < 1.3', '1.2.5'],
    ['^1.0 || ^2.0', '2.1.0'],
    ['>= 1.4.0-0 < 2', '1.4.0-beta.1'],
    ['*', '2.1.0'],
    ['!=2.1.0, >=2', '2.0.0'],
    ['1.2.0 - 1.2.4', '1.2.0'],
    ['=> 1.2.5, =< 1.3', '1.3.0'],
    ['2.0.0', '2.0.0'],
  ];
  for (const [constraint, expected] of constraints) {
    test(`constraint ${JSON.stringify(constraint)} picks ${expected}, as helm does`, async () => {
      const ours = await compareWithHelm({
        name: 'app',
        version: '1.0.0',
        dependencies: [{ name: 'redis', version: constraint, repository: stable.url }],
      });
      assert.deepEqual(lockedVersions(ours, 'app'), [expected]);
    });
  }

  test('aliases, @name and alias:name repositories, a nested subchart, several dependencies', async () => {
    const ours = await compareWithHelm({
      name: 'app',
      version: '0.1.0',
      dependencies: [
        { name: 'redis', version: '^1.2', repository: '@stable', alias: 'cache' },
        {
          name: 'redis',
          version: '^1.2',
          repository: `${stable.url}/`,
          alias: 'queue',
          condition: 'queue.enabled',
        },
        { name: 'common', version: '~0.1', repository: 'alias:stable', tags: ['base'] },
        { name: 'stack', version: '1.0.0', repository: stable.url, 'import-values': ['defaults'] },
      ],
    });
    assert.deepEqual(lockedVersions(ours, 'app'), ['1.3.0', '1.3.0', '0.1.0', '1.0.0']);
    const files = entries(ours);
    assert.ok(files.has('app/charts/stack/charts/inner/Chart.yaml'));
  });

  test('a repository with basic auth', async () => {
    const ours = await compareWithHelm({
      name: 'app',
      version: '1.0.0',
      dependencies: [{ name: 'secret-app', version: '^1', repository: priv.url }],
    });
    assert.deepEqual(lockedVersions(ours, 'app'), ['1.1.0']);
    const dir = await writeChart(chartDir('app'), {
      name: 'app',
      version: '1.0.0',
      dependencies: [{ name: 'secret-app', version: '^1', repository: priv.url }],
    });
    await assert.rejects(
      chartsyncPackage(dir, { repositories: [] }),
      /chart app: Chart.yaml: dependency 'secret-app' .*HTTP 401/,
    );
  });

  test('file:// dependencies from the same checkout, and vendored charts/ directories', async () => {
    const root = join(tmp.path, 'checkout');
    await writeChart(join(root, 'libs', 'common'), {
      name: 'common',
      version: '0.3.0',
      files: {
        '.helmignore': '*.md\n',
        'README.md': 'ignored\n',
        'templates/_x.tpl': '{{ define "x" }}{{ end }}\n',
      },
    });
    const dir = await writeChart(join(root, 'apps', 'app'), {
      name: 'app',
      version: '1.0.0',
      dependencies: [
        { name: 'common', version: '>=0.3.0', repository: 'file://../../libs/common' },
        { name: 'local', version: '0.x', repository: '' },
      ],
      files: { 'charts/local/Chart.yaml': 'apiVersion: v2\nname: local\nversion: 0.5.0\n' },
    });
    const ours = await chartsyncPackage(dir, { repoRoot: root });
    assertSamePackage(ours, await helmPackage(helm, dir, tmp.path, 'update', root));
    assert.deepEqual(lockedVersions(ours, 'app'), ['0.3.0', '0.x']);
  });

  test('a file:// chart bumped past the version its Chart.lock pins is refused, as by helm', async () => {
    const root = join(tmp.path, 'checkout3');
    const lib = join(root, 'lib');
    await writeChart(lib, { name: 'lib', version: '0.1.0' });
    const dir = await writeChart(join(root, 'app'), {
      name: 'app',
      version: '1.0.0',
      dependencies: [{ name: 'lib', version: '>=0.1.0', repository: 'file://../lib' }],
    });
    await helm.run(['dependency', 'update', dir]);
    await rm(join(dir, 'charts'), { recursive: true });
    await writeChart(lib, { name: 'lib', version: '0.2.0' });
    await assert.rejects(
      helmPackage(helm, dir, tmp.path, 'build', root),
      /can't get a valid version for dependency lib/,
    );
    await assert.rejects(
      chartsyncPackage(dir, { repoRoot: root }),
      /dependency 'lib' \(>=0.1.0 from file:\/\/..\/lib\): the chart at ..\/lib has version 0.2.0, which does not satisfy version 0.1.0 pinned by Chart.lock/,
    );
  });

  test('a file:// path that leaves the repository root is refused', async () => {
    const root = join(tmp.path, 'checkout2');
    await writeChart(join(tmp.path, 'outside', 'secret'), { name: 'secret', version: '1.0.0' });
    const dir = await writeChart(join(root, 'app'), {
      name: 'app',
      version: '1.0.0',
      dependencies: [{ name: 'secret', version: '1.0.0', repository: 'file://../../outside/secret' }],
    });
    await assert.rejects(
      chartsyncPackage(dir, { repoRoot: root }),
      /chart app: Chart.yaml: dependency 'secret' \(1.0.0 from file:\/\/..\/..\/outside\/secret\): "file:\/\/..\/..\/outside\/secret" resolves outside the repository/,
    );
  });

  test('a file:// path that leaves through a symbolic link, or without any root given, is refused', async () => {
    const root = join(tmp.path, 'checkout-links');
    await writeChart(join(tmp.path, 'outside3', 'secret'), { name: 'secret', version: '1.0.0' });
    await mkdir(root, { recursive: true });
    await symlink(join(tmp.path, 'outside3'), join(root, 'out'));
    const linked = await writeChart(join(root, 'app'), {
      name: 'app',
      version: '1.0.0',
      dependencies: [{ name: 'secret', version: '1.0.0', repository: 'file://../out/secret' }],
    });
    const err = await chartsyncPackage(linked, { repoRoot: root }).then(
      () => assert.fail('packaged through the link'),
      (e: unknown) => e as ChartError,
    );
    assert.match(err.message, /"file:\/\/..\/out\/secret" resolves outside the repository/);
    assert.equal(err.reason, 'PathEscapesCheckout');
    // No root given: the chart directory itself is the bound, even for a sibling chart.
    await writeChart(join(root, 'lib'), { name: 'lib', version: '1.0.0' });
    const sibling = await writeChart(join(root, 'uses-lib'), {
      name: 'uses-lib',
      version: '1.0.0',
      dependencies: [{ name: 'lib', version: '1.0.0', repository: 'file://../lib' }],
    });
    await assert.rejects(chartsyncPackage(sibling), /"file:\/\/..\/lib" resolves outside the repository/);
    await chartsyncPackage(sibling, { repoRoot: root });
  });

  test('a matching Chart.lock pins versions (helm dependency build)', async () => {
    const spec: ChartSpec = {
      name: 'app',
      version: '1.0.0',
      dependencies: [{ name: 'redis', version: '^1.0', repository: stable.url }],
    };
    const dir = await writeChart(chartDir('app'), spec);
    // Lock against an index that only knows 1.2.0, then serve the full index again.
    const full = await readFile(join(stable.dir, 'index.yaml'), 'utf8');
    const old = parse(full);
    old.entries.redis = old.entries.redis.filter((e: { version: string }) => e.version === '1.2.0');
    stable.override('index.yaml', { kind: 'body', data: stringify(old) });
    try {
      await helm.run(['dependency', 'update', dir]);
    } finally {
      stable.clearOverrides();
    }
    await helm.run(['repo', 'update']);
    const ours = await chartsyncPackage(dir, { repositories: repositories() });
    assert.deepEqual(lockedVersions(ours, 'app'), ['1.2.0']);
    assertSamePackage(ours, await helmPackage(helm, dir, tmp.path, 'build'));
    // The lock is packaged as committed, timestamp included.
    const lock = parse(entries(ours).get('app/Chart.lock')?.toString() ?? '');
    const committed = parse(await readFile(join(dir, 'Chart.lock'), 'utf8'));
    assert.equal(new Date(lock.generated).getTime(), new Date(committed.generated).getTime());
  });

  test('a vendored archive matching the lock is packaged as helm re-downloads it', async () => {
    const dir = await writeChart(chartDir('app'), {
      name: 'app',
      version: '1.0.0',
      dependencies: [{ name: 'redis', version: '~1.2.0', repository: stable.url }],
    });
    await helm.run(['dependency', 'update', dir]); // writes Chart.lock and charts/redis-1.2.5.tgz
    stable.requests.length = 0;
    const ours = await chartsyncPackage(dir, { repositories: repositories() });
    assert.deepEqual(stable.requests, [], 'nothing fetched: the vendored archive satisfies the lock');
    assert.deepEqual(lockedVersions(ours, 'app'), ['1.2.5']);
    assertSamePackage(ours, await helmPackage(helm, dir, tmp.path, 'build'));
  });

  test('a stale Chart.lock is refused, as helm dependency build refuses it', async () => {
    const dir = await writeChart(chartDir('app'), {
      name: 'app',
      version: '1.0.0',
      dependencies: [{ name: 'redis', version: '^1.0', repository: stable.url }],
    });
    await helm.run(['dependency', 'update', dir]);
    const chartYaml = join(dir, 'Chart.yaml');
    await writeFile(chartYaml, (await readFile(chartYaml, 'utf8')).replace('^1.0', '^2.0'));
    await assert.rejects(helmPackage(helm, dir, tmp.path, 'build'), /out of sync/);
    await assert.rejects(
      chartsyncPackage(dir, { repositories: repositories() }),
      /chart app: Chart.lock: the lock file is out of sync with the dependencies in Chart.yaml .*run 'helm dependency update'/,
    );
  });

  test('apiVersion v1 with requirements.yaml and requirements.lock', async () => {
    const ours = await compareWithHelm({
      name: 'legacy',
      version: '1.0.0',
      apiVersion: 'v1',
      dependencies: [{ name: 'redis', version: '~1.2', repository: stable.url }],
    });
    assert.deepEqual(lockedVersions(ours, 'legacy'), ['1.2.5']);
  });

  test('apiVersion v1 pinned by requirements.lock (helm dependency build)', async () => {
    const dir = await writeChart(chartDir('legacy'), {
      name: 'legacy',
      version: '1.0.0',
      apiVersion: 'v1',
      dependencies: [{ name: 'redis', version: '^1.2', repository: stable.url }],
    });
    await helm.run(['dependency', 'update', dir]);
    const ours = await chartsyncPackage(dir, { repositories: repositories() });
    assert.deepEqual(lockedVersions(ours, 'legacy'), ['1.3.0']);
    assertSamePackage(ours, await helmPackage(helm, dir, tmp.path, 'build'));
  });

  test('no satisfying version: both refuse; chartsync names chart, dependency and what is available', async () => {
    const spec: ChartSpec = {
      name: 'app',
      version: '1.0.0',
      dependencies: [{ name: 'redis', version: '^3.0.0', repository: stable.url }],
    };
    const dir = await writeChart(chartDir('app'), spec);
    await assert.rejects(helmPackage(helm, dir, tmp.path, 'update'), /can't get a valid version/);
    await assert.rejects(chartsyncPackage(dir, { repositories: repositories() }), {
      message: `chart app: Chart.yaml: dependency 'redis' (^3.0.0 from ${stable.url}): no version satisfies the constraint; available: 2.1.0, 2.0.0, 1.4.0-beta.1, 1.3.0, 1.2.5, 1.2.0`,
    });
  });
});
