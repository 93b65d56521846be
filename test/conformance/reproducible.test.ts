/**
 * What we produce is reproducible and usable: two packagings at different times (and after the
 * files' mtimes changed) are byte-identical, the entry times come from SOURCE_DATE_EPOCH / the
 * given mtime, and the real `helm lint` and `helm template` accept the archive.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { FIXED_EPOCH, packageChart } from '@chartsync/sidecar';
import { Parser, type ReadEntry } from 'tar';
import { appChart, chartYaml, libraryChart, writeTree } from '../harness/chart-fixtures.ts';
import { createHelm, type Helm } from '../harness/helm.ts';
import { chartsyncBin, tempDir } from '../harness/paths.ts';

const run = promisify(execFile);
let helm: Helm;
let tmp: { path: string; cleanup: () => Promise<void> };

before(async () => {
  helm = await createHelm();
  tmp = await tempDir('chartsync-repro-');
  await writeTree(join(tmp.path, 'common'), libraryChart('common', '1.2.0'));
  await writeTree(
    join(tmp.path, 'app'),
    appChart('app', '0.4.0', {
      'Chart.yaml': chartYaml({
        apiVersion: 'v2',
        name: 'app',
        version: '0.4.0',
        dependencies: '\n- name: common\n  version: 1.x\n  repository: file://../common',
      }),
      'charts/common/Chart.yaml': chartYaml({
        apiVersion: 'v2',
        name: 'common',
        version: '1.2.0',
        type: 'library',
      }),
      'charts/common/templates/_names.tpl': '{{- define "common.name" -}}{{ .Chart.Name }}{{- end -}}\n',
      'templates/NOTES.txt': 'Installed {{ include "common.name" . }}\n',
    }),
  );
});
after(async () => {
  await tmp.cleanup();
  await helm.cleanup();
});

function entryTimes(tgz: Buffer): Date[] {
  const times: Date[] = [];
  const p = new Parser();
  p.on('entry', (e: ReadEntry) => {
    if (e.mtime) times.push(e.mtime);
    e.resume();
  });
  p.end(gunzipSync(tgz));
  return times;
}

describe('reproducible packages', () => {
  test('two packagings at different times are byte-identical', async () => {
    const dir = join(tmp.path, 'app');
    const first = await packageChart(dir, { mtime: FIXED_EPOCH });
    await new Promise((r) => setTimeout(r, 1100));
    const later = new Date(Date.now() + 3600_000);
    await utimes(join(dir, 'values.yaml'), later, later);
    await utimes(join(dir, 'templates/deployment.yaml'), later, later);
    const second = await packageChart(dir, { mtime: FIXED_EPOCH });
    assert.equal(second.digest, first.digest);
    assert.ok(second.data.equals(first.data));
    assert.ok(entryTimes(first.data).every((t) => t.getTime() === FIXED_EPOCH.getTime()));
  });

  test('changing content changes the digest', async () => {
    const dir = join(tmp.path, 'changing');
    await writeTree(dir, appChart('changing', '1.0.0'));
    const before = await packageChart(dir, { mtime: FIXED_EPOCH });
    await writeFile(join(dir, 'values.yaml'), 'replicaCount: 2\n');
    const after = await packageChart(dir, { mtime: FIXED_EPOCH });
    assert.notEqual(after.digest, before.digest);
  });

  test('the CLI takes entry times from SOURCE_DATE_EPOCH outside git, and is stable across runs', async () => {
    const out1 = join(tmp.path, 'out1');
    const out2 = join(tmp.path, 'out2');
    const env = { ...process.env, SOURCE_DATE_EPOCH: '1700000000' };
    const a = await run(chartsyncBin, ['package', join(tmp.path, 'app'), '-d', out1], { env });
    const b = await run(chartsyncBin, ['package', join(tmp.path, 'app'), '-d', out2], { env });
    assert.equal(a.stdout, b.stdout);
    assert.match(a.stdout, /^app-0\.4\.0\.tgz sha256:[0-9a-f]{64}\n$/);
    const { readFile } = await import('node:fs/promises');
    const data = await readFile(join(out1, 'app-0.4.0.tgz'));
    assert.ok(entryTimes(data).every((t) => t.getTime() === 1700000000 * 1000));
  });
});

describe('helm accepts what we produce', () => {
  test('helm lint and helm template on our archive', async () => {
    const p = await packageChart(join(tmp.path, 'app'), { mtime: FIXED_EPOCH });
    const tgz = join(tmp.path, p.fileName);
    await writeFile(tgz, p.data);
    const lint = await helm.exec(['lint', tgz]);
    assert.equal(lint.code, 0, lint.stdout + lint.stderr);
    assert.match(lint.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
    const rendered = await helm.run(['template', 'rel', tgz]);
    assert.match(rendered, /kind: Deployment/);
    assert.match(rendered, /name: rel-app/);
    assert.match(rendered, /helm.sh\/chart: app-0.4.0/);
  });
});
