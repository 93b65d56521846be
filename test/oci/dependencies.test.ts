/**
 * `oci://` dependencies resolved by chartsync against the real Distribution registry, compared
 * with the real `helm dependency build|update` + `helm package` on the same charts and the same
 * registry: the same versions chosen from the tags (SemVer order, `_` read as `+`, non-SemVer
 * tags ignored), the same Chart.lock (digest included), the same archive entry for entry.
 */
import assert from 'node:assert/strict';
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { packageChart } from '@chartsync/sidecar';
import { parse, stringify } from 'yaml';
import { assertSamePackage, entries, lockedVersions, MTIME } from '../deps/compare.ts';
import { writeChart } from '../deps/fixtures.ts';
import { Helm } from '../harness/helm.ts';
import { bothHelms } from '../harness/helm4.ts';
import { OciRegistry } from '../harness/oci-registry.ts';
import { tempDir } from '../harness/paths.ts';

/** Pushes `name` at each version with the real `helm push`. */
async function helmPushAll(
  helm: Helm,
  work: string,
  registryUrl: string,
  name: string,
  versions: string[],
  type = 'library',
) {
  for (const version of versions) {
    const src = await writeChart(join(work, 'push-src', `${name}-${version}`, name), {
      name,
      version,
      metadata: { type },
      files:
        type === 'library'
          ? { 'templates/_helpers.tpl': `{{- define "${name}.v" -}}${version}{{- end -}}\n` }
          : {},
    });
    if (type === 'library') await writeFile(join(src, 'templates/configmap.yaml'), '');
    const dest = join(work, 'push-out');
    await mkdir(dest, { recursive: true });
    const archive = await helm.packageTo(src, dest);
    await helm.all(['push', archive, registryUrl, '--plain-http']);
  }
}

/** helm's package of a copy of `dir` after `helm dependency <mode> --plain-http`. */
async function helmPackage(helm: Helm, dir: string, work: string, mode: 'build' | 'update'): Promise<Buffer> {
  const copy = join(work, `helm-copy-${Math.random().toString(36).slice(2)}`);
  await cp(dir, copy, { recursive: true });
  await helm.all(['dependency', mode, copy, '--plain-http']);
  const out = join(work, 'helm-out', Math.random().toString(36).slice(2));
  await mkdir(out, { recursive: true });
  return readFile(await helm.packageTo(copy, out));
}

describe('oci:// dependencies: chartsync chooses and packages what helm 3 and helm 4 do', () => {
  let registry: OciRegistry;
  let helm: Helm;
  let helms: ReturnType<typeof bothHelms>;
  let work: string;
  let cleanup: () => Promise<void>;
  let opts: Parameters<typeof packageChart>[1];
  before(async () => {
    registry = await OciRegistry.start();
    const tmp = await tempDir('chartsync-oci-deps-');
    work = tmp.path;
    cleanup = tmp.cleanup;
    helm = new Helm(join(work, 'helm-home'));
    helms = bothHelms(join(work, 'helms'));
    assert.match(await (helms[1] as { helm: Helm }).helm.run(['version', '--short']), /^v4\./);
    // 2.10.0 > 2.9.0 only in SemVer order; 1.9.0+meta is stored as the tag 1.9.0_meta.
    await helmPushAll(helm, work, `${registry.url}/charts`, 'common', [
      '1.2.0',
      '1.9.0+meta',
      '2.0.0',
      '2.3.1',
      '2.9.0',
      '2.10.0',
      '2.11.0-rc.1',
      '3.0.0',
    ]);
    await helmPushAll(
      helm,
      work,
      `${registry.url}/charts`,
      'redis',
      ['17.0.0', '17.3.2', '18.0.1'],
      'application',
    );
    opts = { mtime: MTIME, dependencyUpdate: true, repositories: [], oci: { plainHttp: [registry.host] } };
  });
  after(async () => {
    await registry?.cleanup();
    await cleanup?.();
  });

  const cases: { title: string; deps: (url: string) => Record<string, unknown>[]; expect: string[] }[] = [
    {
      title: '2.x.x takes the highest 2.x in SemVer order',
      deps: (u) => [{ name: 'common', version: '2.x.x', repository: u }],
      expect: ['2.10.0'],
    },
    {
      title: 'tilde range',
      deps: (u) => [{ name: 'common', version: '~2.3.0', repository: u }],
      expect: ['2.3.1'],
    },
    {
      title: 'caret with build metadata tag (_ read as +)',
      deps: (u) => [{ name: 'common', version: '^1.3', repository: u }],
      expect: ['1.9.0+meta'],
    },
    {
      title: 'exact version is taken as the tag',
      deps: (u) => [{ name: 'common', version: '2.0.0', repository: u }],
      expect: ['2.0.0'],
    },
    {
      title: 'prerelease only when asked for',
      deps: (u) => [{ name: 'common', version: '>=2.11.0-0 <3.0.0', repository: u }],
      expect: ['2.11.0-rc.1'],
    },
    {
      // (two aliases of one chart at different versions are not compared: helm's own output
      // then depends on Go's map order, both land in charts/common/)
      title: 'an alias and a second chart, with condition and tags',
      deps: (u) => [
        { name: 'common', version: '2.x.x', repository: u, alias: 'lib', tags: ['base'] },
        { name: 'redis', version: '17.x.x', repository: u, condition: 'redis.enabled' },
      ],
      expect: ['2.10.0', '17.3.2'],
    },
  ];
  for (const c of cases) {
    test(c.title, async () => {
      const dir = await writeChart(join(work, 'app', c.title.replace(/\W+/g, '-'), 'app'), {
        name: 'app',
        version: '1.0.0',
        dependencies: c.deps(`${registry.url}/charts`),
      });
      const ours = (await packageChart(dir, opts)).data;
      assert.deepEqual(lockedVersions(ours, 'app'), c.expect);
      for (const { label, helm: h } of helms) {
        const theirs = await helmPackage(h, dir, work, 'update');
        assert.deepEqual(lockedVersions(theirs, 'app'), c.expect, `${label} chose the same`);
        assertSamePackage(ours, theirs);
      }
    });
  }

  test('a Chart.lock written by helm 3 or helm 4 pins the versions (a newer tag is ignored), and a stale lock is refused', async () => {
    const dir = await writeChart(join(work, 'locked', 'app'), {
      name: 'app',
      version: '1.0.0',
      dependencies: [{ name: 'redis', version: '>=17.0.0', repository: `${registry.url}/charts` }],
    });
    const locks = [];
    for (const { label, helm: h } of helms) {
      const copy = join(work, 'locked', label.replace(' ', ''), 'app');
      await cp(dir, copy, { recursive: true });
      await h.all(['dependency', 'update', copy, '--plain-http']);
      locks.push({ label, text: await readFile(join(copy, 'Chart.lock'), 'utf8') });
    }
    const lock = parse(locks[0]?.text as string);
    assert.equal(lock.dependencies[0].version, '18.0.1');
    for (const l of locks) {
      const other = parse(l.text);
      assert.deepEqual(
        [other.dependencies, other.digest],
        [lock.dependencies, lock.digest],
        `${l.label}'s lock`,
      );
    }
    // The lock alone (no archive in charts/) pins the version.
    await writeFile(join(dir, 'Chart.lock'), locks[1]?.text as string);
    await helmPushAll(helm, work, `${registry.url}/charts`, 'redis', ['18.1.0'], 'application');
    const ours = (await packageChart(dir, opts)).data;
    assert.deepEqual(lockedVersions(ours, 'app'), ['18.0.1']);
    for (const { helm: h } of helms) assertSamePackage(ours, await helmPackage(h, dir, work, 'build'));
    const files = entries(ours);
    assert.equal(
      parse((files.get('app/Chart.lock') as Buffer).toString()).digest,
      lock.digest,
      'the lock as helm wrote it',
    );

    const chartYaml = parse(await readFile(join(dir, 'Chart.yaml'), 'utf8'));
    chartYaml.dependencies[0].version = '>=18.1.0';
    await writeFile(join(dir, 'Chart.yaml'), stringify(chartYaml));
    await assert.rejects(packageChart(dir, opts), /out of sync/);
  });

  test('vendored charts/ that satisfy the lock are used as they are (nothing is pulled)', async () => {
    const dir = await writeChart(join(work, 'vendored', 'app'), {
      name: 'app',
      version: '1.0.0',
      dependencies: [{ name: 'common', version: '2.x.x', repository: `${registry.url}/charts` }],
    });
    await helm.all(['dependency', 'update', dir, '--plain-http']);
    // The registry is down: only the vendored archive can satisfy the dependency.
    await registry.stop();
    try {
      const ours = (await packageChart(dir, opts)).data;
      const helms = readFile(await helm.packageTo(dir, join(work, 'vendored-out')));
      assertSamePackage(ours, await helms);
    } finally {
      await registry.start();
    }
  });

  test('failures name the chart, the dependency and the registry', async () => {
    const missing = await writeChart(join(work, 'missing', 'app'), {
      name: 'app',
      version: '1.0.0',
      dependencies: [{ name: 'nope', version: '1.x', repository: `${registry.url}/charts` }],
    });
    await assert.rejects(packageChart(missing, opts), (err: Error) => {
      assert.match(err.message, /chart app: Chart\.yaml: dependency 'nope'/);
      assert.match(err.message, new RegExp(`no tag of oci://${registry.host}/charts/nope satisfies`));
      return true;
    });
    const none = await writeChart(join(work, 'none', 'app'), {
      name: 'app',
      version: '1.0.0',
      dependencies: [{ name: 'common', version: '9.x', repository: `${registry.url}/charts` }],
    });
    await assert.rejects(packageChart(none, opts), /available: 3\.0\.0, 2\.11\.0-rc\.1, 2\.10\.0/);
    // https is the default: without the plain-HTTP allowance the registry is not spoken to in clear text.
    await assert.rejects(packageChart(none, { ...opts, repositories: [], oci: {} }), /request failed/);
  });
});

describe("tag listing follows the registry's Link pagination", () => {
  test('every tag, page by page, from the real registry', async () => {
    const registry = await OciRegistry.start();
    const tmp = await tempDir('chartsync-oci-pages-');
    try {
      const helm = new Helm(join(tmp.path, 'helm-home'));
      const versions = ['0.1.0', '0.2.0', '0.3.0', '0.4.0', '0.5.0', '0.6.0', '0.7.0'];
      await helmPushAll(helm, tmp.path, `${registry.url}/p`, 'paged', versions, 'application');
      const { chartRepository, OciClient } = await import('@chartsync/sidecar/oci');
      const client = new OciClient({ plainHttp: [registry.host], tagPageSize: 2 });
      assert.deepEqual((await client.tags(chartRepository(`${registry.url}/p`, 'paged'))).sort(), versions);
    } finally {
      await registry.cleanup();
      await tmp.cleanup();
    }
  });
});
