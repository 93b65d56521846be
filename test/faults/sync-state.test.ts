/**
 * What a sync remembers, against the running sidecar: failed charts are retried by every update
 * (a dependency repository that was down is asked again, though the commit did not move).
 */
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ChartRepoServer } from '../harness/chart-repo-server.ts';
import { fileUrl } from '../harness/git-server.ts';
import { tempDir } from '../harness/paths.ts';
import { startWorld, type World } from '../security/world.ts';
import { chartFiles, Helm } from '../sidecar/fixtures.ts';

interface Chart {
  name: string;
  version: string;
  action: string;
  error?: string;
  reason?: string;
}

function charts(answer: { json: Record<string, unknown> }): Chart[] {
  return (answer.json.charts as Chart[]) ?? [];
}

/** A Helm repository served over HTTP holding `shared` 1.0.0, packaged by the real helm. */
async function sharedRepo(root: string): Promise<ChartRepoServer> {
  const helm = new Helm(root);
  const src = join(root, 'src');
  const archives = join(root, 'archives');
  await mkdir(archives, { recursive: true });
  for (const [path, content] of Object.entries(chartFiles('shared', 'shared'))) {
    await mkdir(join(src, path, '..'), { recursive: true });
    await writeFile(join(src, path), content);
  }
  await helm.run(['package', join(src, 'shared'), '--destination', archives]);
  return ChartRepoServer.start({ dir: archives });
}

describe('failed charts are retried', () => {
  let w: World;
  let deps: ChartRepoServer;
  let tmp: { path: string; cleanup: () => Promise<void> };
  before(async () => {
    tmp = await tempDir('chartsync-retry-');
    deps = await sharedRepo(tmp.path);
    w = await startWorld({ args: ['--allow-local-git'] });
  });
  after(async () => {
    await w?.stop();
    await deps?.close();
    await tmp?.cleanup();
  });

  test('a chart that failed while its dependency repository was down is rebuilt by the next update of the same commit', async () => {
    const reg = await w.api('POST', '/repo/dependency', { json: { name: 'deps', url: deps.url } });
    assert.equal(reg.status, 200, reg.text);
    const repo = await w.git.repos.create('retry', {
      ...chartFiles('app', 'app', {
        dependencies: [{ name: 'shared', version: '1.x', repository: '@deps' }],
      }),
      ...chartFiles('plain', 'plain'),
    });
    deps.override('index.yaml', { kind: 'body', status: 503, data: 'down for maintenance' });
    const first = await w.api('POST', '/repo/new', { json: { name: 'retry', git: fileUrl(repo) } });
    assert.equal(first.status, 200, first.text);
    const app = charts(first).find((c) => c.name === 'app');
    assert.equal(app?.action, 'failed', first.text);
    assert.equal(app?.reason, 'DependencyUnresolved', first.text);
    assert.equal(charts(first).find((c) => c.name === 'plain')?.action, 'published');

    // Still down: the update asks the repository again and reports the same failure.
    const asked = deps.requestsFor('index.yaml').length;
    const again = await w.api('POST', '/repo/retry/update');
    assert.equal(charts(again).find((c) => c.name === 'app')?.action, 'failed', again.text);
    assert.ok(deps.requestsFor('index.yaml').length > asked, 'the dependency repository was asked again');

    deps.clearOverrides();
    const back = await w.api('POST', '/repo/retry/update');
    assert.equal(back.status, 200, back.text);
    assert.equal(back.json.commit, first.json.commit, 'same commit');
    assert.deepEqual(
      charts(back).map((c) => [c.name, c.action]),
      [
        ['app', 'published'],
        ['plain', 'unchanged'],
      ],
    );
    // All built now: the no-change path answers without building anything.
    const quiet = deps.requestsFor('index.yaml').length;
    const idle = await w.api('POST', '/repo/retry/update');
    assert.equal(idle.json.changed, false);
    assert.deepEqual(
      charts(idle).map((c) => c.action),
      ['unchanged', 'unchanged'],
    );
    assert.equal(
      deps.requestsFor('index.yaml').length,
      quiet,
      'nothing to retry: the repository is not asked',
    );
  });
});
