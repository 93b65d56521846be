/**
 * Differential test of the constraint semantics: one chart with many aliased dependencies on
 * the same chart, each with its own constraint; the real `helm dependency update` (Masterminds
 * semver inside) writes the chosen versions into Chart.lock, and chartsync must choose the same.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chooseVersion, parseConstraint, parseIndex } from '@chartsync/sidecar/chart/dependencies';
import { parse } from 'yaml';
import type { ChartRepoServer } from '../harness/chart-repo-server.ts';
import { Helm } from '../harness/helm.ts';
import { tempDir } from '../harness/paths.ts';
import { startRepo, writeChart } from './fixtures.ts';

const versions = [
  '0.1.0',
  '0.1.5',
  '0.2.0',
  '1.0.0',
  '1.2.0',
  '1.2.5',
  '1.3.0',
  '1.4.0-beta.1',
  '1.4.0',
  '2.0.0-rc.1',
  '2.0.0',
  '2.1.0',
];
const constraints = [
  '>1.2',
  '<1.4.0',
  '<=1.3',
  '=<1.2',
  '>=2.0.0-0',
  '^0.1',
  '^0.1.2',
  '~0',
  '0.x',
  '0.1',
  'x',
  '*',
  '>=0',
  '!=1.3.0 >1.2',
  '>1.2 <1.4 || 0.2.0',
  '1.2.0 - 1.3',
  '>= 2.0.0-alpha <2.0.0',
  '^2.0.0-beta',
  '~2.0.0-rc.0',
  '=1.2.5',
  'v1.2',
  '1',
  '1.2.x',
  '1.*',
  '< 1',
  '=> 1.4',
  '~> 1.2',
  '!= 2.1.0',
  '>1.2.5 <=1.3.0',
  '^1.4.0-0',
  '>=1.4.0-alpha <1.4.0',
  '~1.4.0-0',
  '1.4.0-beta.1',
  '<1.4.0-0 >=1.3',
  '>1 <3',
  '>0.1 <1',
  '^0.2 || ^1.0.0',
  '~0.1.1',
  '>= 1.0, < 1.2.5',
  '<2.0.0-rc.2',
  '<2.0.0-rc.2 >= 1.4.0-0',
];

describe('constraint choices are the same as the real helm (Masterminds semver)', () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let repo: ChartRepoServer;
  let helm: Helm;

  before(async () => {
    tmp = await tempDir('deps-constraints-');
    helm = new Helm(join(tmp.path, 'home'));
    repo = await startRepo(
      helm,
      tmp.path,
      join(tmp.path, 'repo'),
      versions.map((version) => ({ name: 'pkg', version })),
    );
  });
  after(async () => {
    await repo?.close();
    await tmp?.cleanup();
  });

  test(`${constraints.length} constraints choose the same version as helm dependency update`, async () => {
    const dependencies = constraints.map((version, i) => ({
      name: 'pkg',
      version,
      repository: repo.url,
      alias: `c${i}`,
    }));
    const dir = await writeChart(join(tmp.path, 'app'), { name: 'app', version: '1.0.0', dependencies });
    await helm.run(['dependency', 'update', dir]);
    const lock = parse(await readFile(join(dir, 'Chart.lock'), 'utf8'));
    const helmChoices: string[] = lock.dependencies.map((d: { version: string }) => d.version);
    const index = parseIndex(await readFile(join(repo.dir, 'index.yaml')), 'index');
    const ours = constraints.map((c) => chooseVersion(index, 'pkg', parseConstraint(c))?.version ?? 'none');
    const table = (list: string[]) => constraints.map((c, i) => `${c} => ${list[i]}`);
    assert.deepEqual(table(ours), table(helmChoices));
    assert.ok(new Set(helmChoices).size >= 10, `the constraints exercise many versions: ${helmChoices}`);
  });
});
