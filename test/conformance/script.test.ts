/**
 * scripts/conformance.mjs — the tool the product owner runs on real chart repositories — on a
 * directory of test charts, and on the ~70 charts of helm's own test data (the helm module
 * source the test tools were built from).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { appChart, chartYaml, libraryChart, writeTree } from '../harness/chart-fixtures.ts';
import { sharedHelm } from '../harness/helm.ts';
import { repoRoot, tempDir } from '../harness/paths.ts';

const run = promisify(execFile);
const script = join(repoRoot, 'scripts/conformance.mjs');

let tmp: { path: string; cleanup: () => Promise<void> };
before(async () => {
  tmp = await tempDir('chartsync-conformance-script-');
});
after(() => tmp.cleanup());

/** Runs the script; resolves with exit code and output even when it exits non-zero. */
async function conformance(dir: string, ...flags: string[]): Promise<{ code: number; stdout: string }> {
  try {
    const { stdout } = await run(process.execPath, [script, dir, ...flags], { maxBuffer: 16 << 20 });
    return { code: 0, stdout };
  } catch (err) {
    const e = err as { code: number; stdout: string };
    return { code: e.code, stdout: e.stdout };
  }
}

describe('scripts/conformance.mjs', () => {
  test('reports OK per chart, charts both refuse, and a summary', async () => {
    const dir = join(tmp.path, 'repo');
    await writeTree(dir, {
      ...Object.fromEntries(Object.entries(appChart('web', '1.2.3')).map(([k, v]) => [`charts/web/${k}`, v])),
      ...Object.fromEntries(Object.entries(libraryChart('lib')).map(([k, v]) => [`charts/lib/${k}`, v])),
      'charts/broken/Chart.yaml': chartYaml({ apiVersion: 'v2', name: 'broken', version: 'not-a-version' }),
      'README.md': '# charts\n',
    });
    const r = await conformance(dir);
    assert.equal(r.code, 0, r.stdout);
    assert.match(r.stdout, /^OK\s+charts\/web$/m);
    assert.match(r.stdout, /^OK\s+charts\/lib$/m);
    assert.match(r.stdout, /^BOTH-REFUSE\s+charts\/broken$/m);
    assert.match(r.stdout, /3 charts: 2 OK, 1 refused by both, 0 DIFF/);
  });

  test('--json gives machine-readable results', async () => {
    const dir = join(tmp.path, 'json');
    await writeTree(dir, appChart('solo', '0.1.0'));
    const r = await conformance(dir, '--json');
    const parsed = JSON.parse(r.stdout) as { summary: { ok: number; charts: number } };
    assert.deepEqual([parsed.summary.charts, parsed.summary.ok], [1, 1]);
  });

  test("every chart in helm's own test data packages the same (or both refuse)", async () => {
    const version = await sharedHelm.run(['version', '--template', '{{.Version}}']);
    const { stdout: info } = await run('go', [
      'mod',
      'download',
      '-json',
      `helm.sh/helm/v3@${version.trim()}`,
    ]);
    const helmSource = (JSON.parse(info) as { Dir: string }).Dir;
    const r = await conformance(helmSource, '--json');
    const { summary, results } = JSON.parse(r.stdout) as {
      summary: { charts: number; ok: number; diff: number; helmOnly: number; chartsyncOnly: number };
      results: { chart: string; status: string }[];
    };
    const bad = results.filter((x) => x.status !== 'OK' && x.status !== 'BOTH-REFUSE');
    assert.deepEqual(bad, []);
    assert.ok(summary.charts >= 50, `found ${summary.charts} charts`);
    assert.ok(summary.ok >= 40);
    assert.equal(r.code, 0);
  });
});
