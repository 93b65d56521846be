/**
 * Invalid charts: chartsync refuses them with a ChartError that names the chart, the file and
 * the problem; where helm also refuses, both agree.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ChartError, FIXED_EPOCH, packageChart } from '@chartsync/sidecar';
import { appChart, chartYaml, type FileTree, writeTree } from '../harness/chart-fixtures.ts';
import { createHelm, type Helm } from '../harness/helm.ts';
import { tempDir } from '../harness/paths.ts';

let helm: Helm;
let tmp: { path: string; cleanup: () => Promise<void> };
let n = 0;

before(async () => {
  helm = await createHelm();
  tmp = await tempDir('chartsync-validation-');
});
after(async () => {
  await tmp.cleanup();
  await helm.cleanup();
});

async function refused(tree: FileTree): Promise<{ error: ChartError; helmRefused: boolean; dir: string }> {
  const dir = join(tmp.path, `${n++}`, 'bad');
  await writeTree(dir, tree);
  const error = await packageChart(dir, { mtime: FIXED_EPOCH }).then(
    () => assert.fail('chartsync accepted an invalid chart'),
    (err: unknown) => err,
  );
  assert.ok(error instanceof ChartError, `expected a ChartError, got ${String(error)}`);
  const helmRefused = 'error' in (await helm.package(dir));
  return { error, helmRefused, dir };
}

const withChartYaml = (text: string) => appChart('x', '1.0.0', { 'Chart.yaml': text });

describe('validation errors name chart, file and problem', () => {
  test('missing name', async () => {
    const { error, helmRefused } = await refused(
      withChartYaml(chartYaml({ apiVersion: 'v2', version: '1.0.0' })),
    );
    assert.ok(helmRefused);
    assert.equal(error.file, 'Chart.yaml');
    assert.match(error.problem, /name is required/);
    assert.match(error.message, /bad.*Chart\.yaml.*name is required/);
  });

  test('invalid name (contains a slash)', async () => {
    const { error, helmRefused } = await refused(
      withChartYaml(chartYaml({ apiVersion: 'v2', name: 'a/b', version: '1.0.0' })),
    );
    assert.ok(helmRefused);
    assert.match(error.problem, /name "a\/b" is invalid/);
  });

  for (const version of ['abc', '1.0.0.0', 'x1.2.3', '1.0.0-01', '""']) {
    test(`version ${version} is not SemVer`, async () => {
      const { error, helmRefused } = await refused(
        withChartYaml(chartYaml({ apiVersion: 'v2', name: 'v', version })),
      );
      assert.ok(helmRefused, 'helm refuses it too');
      assert.equal(error.chart, 'v');
      assert.match(error.problem, /version/);
    });
  }

  test('bad apiVersion (helm only catches this in lint)', async () => {
    const { error } = await refused(
      withChartYaml(chartYaml({ apiVersion: 'v3', name: 'api', version: '1.0.0' })),
    );
    assert.equal(error.chart, 'api');
    assert.match(error.problem, /apiVersion "v3" is invalid/);
  });

  test('bad chart type', async () => {
    const { error, helmRefused } = await refused(
      withChartYaml(chartYaml({ apiVersion: 'v2', name: 't', version: '1.0.0', type: 'plugin' })),
    );
    assert.ok(helmRefused);
    assert.match(error.problem, /type "plugin"/);
  });

  test('unparsable Chart.yaml names the line', async () => {
    const { error, helmRefused } = await refused(withChartYaml('apiVersion: v2\nname: y\nversion: [1.0\n'));
    assert.ok(helmRefused);
    assert.equal(error.file, 'Chart.yaml');
    assert.match(error.problem, /invalid YAML: line \d+/);
  });

  test('unparsable values.yaml', async () => {
    const { error, helmRefused } = await refused(appChart('vals', '1.0.0', { 'values.yaml': 'a: b: c\n' }));
    assert.ok(helmRefused);
    assert.equal(error.chart, 'vals');
    assert.equal(error.file, 'values.yaml');
  });

  test('values.yaml that is not a map', async () => {
    const { error, helmRefused } = await refused(appChart('list', '1.0.0', { 'values.yaml': '- a\n- b\n' }));
    assert.ok(helmRefused);
    assert.match(error.problem, /map/);
  });

  test('wrong field type in Chart.yaml', async () => {
    const { error, helmRefused } = await refused(
      withChartYaml('apiVersion: v2\nname: typed\nversion: 1.0.0\nkeywords: notalist\n'),
    );
    assert.ok(helmRefused);
    assert.match(error.problem, /keywords.*list/);
  });

  test('invalid values.schema.json', async () => {
    const { error, helmRefused } = await refused(
      appChart('schema', '1.0.0', { 'values.schema.json': '{not json' }),
    );
    assert.ok(helmRefused);
    assert.equal(error.file, 'values.schema.json');
  });

  test('missing Chart.yaml', async () => {
    const { error, helmRefused } = await refused({ 'values.yaml': 'a: 1\n' });
    assert.ok(helmRefused);
    assert.match(error.problem, /Chart\.yaml file is missing/);
  });

  test('dependency not satisfiable from charts/', async () => {
    const { error, helmRefused } = await refused(
      withChartYaml(
        chartYaml({
          apiVersion: 'v2',
          name: 'needs',
          version: '1.0.0',
          dependencies: '\n- name: absent\n  version: 1.0.0\n  repository: https://example.com',
        }),
      ),
    );
    assert.ok(helmRefused);
    assert.match(error.problem, /absent/);
  });

  test('a broken subchart names the parent and the subchart path', async () => {
    const { error, helmRefused } = await refused(
      appChart('parent', '1.0.0', {
        'charts/child/Chart.yaml': chartYaml({ apiVersion: 'v2', name: 'child', version: 'x' }),
      }),
    );
    assert.ok(helmRefused);
    assert.equal(error.chart, 'parent');
    assert.match(error.file, /^charts\/child\//);
    assert.match(error.problem, /child/);
  });
});
