/**
 * Divergences from `helm package` found by packaging a corpus of real-world-shaped charts with
 * helm and chartsync: each case is a minimal chart on which the two must agree — the same
 * archive (Chart.yaml and Chart.lock byte-identical) or both refusing the chart.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chartYaml, type FileTree, writeTree } from '../harness/chart-fixtures.ts';
import { createHelm, type Helm } from '../harness/helm.ts';
import { tempDir } from '../harness/paths.ts';
import { conform } from './conform.ts';

let helm: Helm;
let tmp: { path: string; cleanup: () => Promise<void> };
let n = 0;
before(async () => {
  helm = await createHelm();
  tmp = await tempDir('chartsync-differential-');
});
after(async () => {
  await tmp.cleanup();
  await helm.cleanup();
});

async function agree(tree: FileTree): Promise<'same' | 'both refuse'> {
  const dir = join(tmp.path, `${n++}`, 'c');
  await writeTree(dir, tree);
  const r = await conform(helm, dir);
  const helmOk = !('error' in r.helm);
  assert.equal(
    !('error' in r.ours),
    helmOk,
    `helm: ${'error' in r.helm ? r.helm.error : 'ok'}; chartsync: ${'error' in r.ours ? r.ours.error : 'ok'}`,
  );
  assert.deepEqual(r.diffs, []);
  return helmOk ? 'same' : 'both refuse';
}

const chart = (extra = ''): string =>
  `${chartYaml({ apiVersion: 'v2', name: 'c', version: '1.0.0' })}${extra}`;
const lock = (deps: string): string =>
  `dependencies:${deps}\ndigest: sha256:aaa\ngenerated: "2020-01-01T00:00:00Z"\n`;

describe('differential: agreement with helm on real-world shapes', () => {
  // Go keeps an empty list apart from a missing one: `dependencies: []` stays `[]`.
  for (const [label, deps, expected] of [
    ['an empty list', ' []', 'same'],
    ['null', '', 'same'],
  ] as const) {
    test(`Chart.lock with dependencies as ${label}`, async () => {
      assert.equal(await agree({ 'Chart.yaml': chart(), 'Chart.lock': lock(deps) }), expected);
    });
  }
  test('requirements.lock with an empty dependency list in a v2 chart', async () => {
    assert.equal(await agree({ 'Chart.yaml': chart(), 'requirements.lock': lock(' []') }), 'same');
  });
});
