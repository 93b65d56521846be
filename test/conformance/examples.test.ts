/**
 * The project's example charts (examples/charts): `chartsync package --dependency-update`
 * resolves their file:// dependencies, and the result matches what helm packages after
 * `helm dependency build` (except the lock's `generated` time, which helm takes from the
 * clock), and lints and renders with the real helm.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { compareArchives } from '@chartsync/sidecar';
import { createHelm, type Helm } from '../harness/helm.ts';
import { chartsyncBin, repoRoot, tempDir } from '../harness/paths.ts';

const run = promisify(execFile);
let helm: Helm;
let tmp: { path: string; cleanup: () => Promise<void> };
before(async () => {
  helm = await createHelm();
  tmp = await tempDir('chartsync-examples-');
  await cp(join(repoRoot, 'examples/charts'), join(tmp.path, 'charts'), { recursive: true });
});
after(async () => {
  await tmp.cleanup();
  await helm.cleanup();
});

describe('example charts', () => {
  test('package with --dependency-update, same as helm after `helm dependency build`, lint and template', async () => {
    const src = join(tmp.path, 'charts');
    const out = join(tmp.path, 'out');
    const names = ['common', 'backend', 'frontend'];
    const { stdout } = await run(chartsyncBin, [
      'package',
      '--dependency-update',
      ...names.map((n) => join(src, n)),
      '-d',
      out,
      // Outside git the root is each chart's own directory: the file://../ siblings need a wider one.
      '--root',
      src,
    ]);
    assert.match(
      stdout,
      /^common-1\.0\.0\.tgz sha256:[0-9a-f]{64}\nbackend-0\.3\.0\.tgz sha256:[0-9a-f]{64}\nfrontend-1\.1\.0\.tgz sha256:[0-9a-f]{64}\n$/,
    );

    // frontend first: helm packages file://../backend as it is on disk, without its charts/.
    for (const [name, file] of [
      ['frontend', 'frontend-1.1.0.tgz'],
      ['backend', 'backend-0.3.0.tgz'],
    ] as const) {
      await helm.run(['dependency', 'build', join(src, name)]);
      const reference = await helm.package(join(src, name));
      assert.ok('data' in reference, `helm package ${name}`);
      const diffs = compareArchives(reference.data, await readFile(join(out, file)));
      const unexpected = diffs.filter(
        (d) => !(d.file === `${name}/Chart.lock` && /generated/.test(d.problem)),
      );
      assert.deepEqual(unexpected, []);
    }

    // Without --root the sibling charts lie outside the bound, and are not read.
    const refused = await run(chartsyncBin, ['package', '-u', join(src, 'backend'), '-d', out]).then(
      () => assert.fail('backend packaged without --root'),
      (err: { code: number; stderr: string }) => err,
    );
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /"file:\/\/\.\.\/common" resolves outside the repository/);

    const frontend = join(out, 'frontend-1.1.0.tgz');
    const lint = await helm.exec(['lint', frontend]);
    assert.equal(lint.code, 0, lint.stdout);
    const rendered = await helm.run(['template', 'shop', frontend]);
    assert.match(rendered, /name: shop-frontend/);
    assert.match(rendered, /name: shop-backend/);
    assert.match(rendered, /replicas: 2/);
  });
});
