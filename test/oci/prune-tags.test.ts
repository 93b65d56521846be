/**
 * Prune on the oci target removes chartsync's tag, not tags other people put on the same
 * manifest: a promotion tag (`stable`, as `crane tag`/`oras tag` set it) on a version chartsync
 * pushed survives the prune and the removal of the repo, also on a registry that deletes only
 * by digest or claims a tag deletion it does not do (then the prune fails naming the other
 * tag). A tag someone moved to an image index is that chart's conflict, not a failed sync.
 * Real Distribution registry (behind a fault injector for the odd registries), the publisher
 * as the sidecar runs it.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { packageChart } from '@chartsync/sidecar';
import { chartRepository, OciClient } from '@chartsync/sidecar/oci';
import { OciPublisher } from '@chartsync/sidecar/publish';
import { MTIME } from '../deps/compare.ts';
import { writeChart } from '../deps/fixtures.ts';
import { OciFaultProxy } from '../harness/oci-fault-proxy.ts';
import { moveTagToImageIndex, OciRegistry } from '../harness/oci-registry.ts';
import { tempDir } from '../harness/paths.ts';

describe('oci prune and a tag someone else put on a pushed manifest', () => {
  let registry: OciRegistry;
  let proxy: OciFaultProxy;
  let tmp: { path: string; cleanup: () => Promise<void> };
  let admin: OciClient;
  let saved: string | undefined;
  before(async () => {
    registry = await OciRegistry.start();
    proxy = await new OciFaultProxy(registry.host).start();
    tmp = await tempDir('chartsync-oci-prune-tags-');
    admin = new OciClient({ plainHttp: [registry.host] });
    saved = process.env.CHARTSYNC_OCI_PLAIN_HTTP;
    process.env.CHARTSYNC_OCI_PLAIN_HTTP = `${registry.host},${proxy.host}`;
  });
  after(async () => {
    if (saved === undefined) delete process.env.CHARTSYNC_OCI_PLAIN_HTTP;
    else process.env.CHARTSYNC_OCI_PLAIN_HTTP = saved;
    await proxy?.stop();
    await registry?.cleanup();
    await tmp?.cleanup();
  });

  async function staged(name: string, version: string) {
    const dir = await writeChart(join(tmp.path, 'src', `${name}-${version}`, name), { name, version });
    const pkg = await packageChart(dir, { mtime: MTIME });
    const path = join(tmp.path, pkg.fileName);
    await writeFile(path, pkg.data);
    const { data: _data, ...archive } = pkg;
    return { ...archive, path, size: pkg.data.length };
  }

  for (const how of ['prune', 'removeRepo'] as const) {
    test(`${how}: chartsync's tag goes, the other tag and the manifest it names stay`, async () => {
      const publisher = new OciPublisher({
        url: `oci://${registry.host}/cs`,
        dataDir: join(tmp.path, `data-${how}`),
        timeoutMs: 5000,
      });
      const chart = await staged(`app-${how.toLowerCase()}`, '1.0.0');
      const outcome = await publisher.apply('team', [chart], []);
      assert.equal(outcome.failed.size, 0, [...outcome.failed.values()].join('; '));
      const repo = chartRepository(`oci://${registry.host}/cs/team`, chart.name);
      const pushed = await admin.manifest(repo, '1.0.0');
      assert.ok(pushed, 'pushed');
      // Someone promotes the version: the same manifest under another tag.
      await admin.putManifest(repo, 'stable', pushed.data);

      if (how === 'prune') {
        const pruned = await publisher.apply('team', [], [{ name: chart.name, version: '1.0.0' }]);
        assert.equal(pruned.failed.size, 0, [...pruned.failed.values()].join('; '));
      } else await publisher.removeRepo('team');

      assert.equal(await admin.manifest(repo, '1.0.0'), undefined, "chartsync's tag is gone");
      const stable = await admin.manifest(repo, 'stable');
      assert.equal(stable?.digest, pushed.digest, 'the promotion tag still names the manifest');
      assert.deepEqual(await admin.tags(repo), ['stable']);
    });
  }

  for (const [status, label] of [
    [405, 'refuses tag deletion (405)'],
    [202, 'answers 202 to a tag deletion it does not do'],
  ] as const)
    test(`a registry that ${label}: the prune fails naming the other tag, both tags stay`, async () => {
      const publisher = new OciPublisher({
        url: `oci://${proxy.host}/cs`,
        dataDir: join(tmp.path, `data-digest-only-${status}`),
        timeoutMs: 5000,
      });
      const chart = await staged(`app-digest-only-${status}`, '1.0.0');
      assert.equal((await publisher.apply('team', [chart], [])).failed.size, 0);
      const repo = chartRepository(`oci://${registry.host}/cs/team`, chart.name);
      const pushed = await admin.manifest(repo, '1.0.0');
      assert.ok(pushed);
      await admin.putManifest(repo, 'stable', pushed.data);
      proxy.rules = [
        {
          method: 'DELETE',
          path: /\/manifests\/(?!sha256:)[^/]+$/,
          action: {
            kind: 'answer',
            status,
            body: status === 405 ? '{"errors":[{"code":"UNSUPPORTED"}]}' : '',
          },
        },
      ];
      try {
        const pruned = await publisher.apply('team', [], [{ name: chart.name, version: '1.0.0' }]);
        const err = [...pruned.failed.values()][0];
        assert.match(
          err?.message ?? '',
          /deletes only by digest, which would also delete the tag\(s\) stable/,
        );
        assert.deepEqual((await admin.tags(repo)).sort(), ['1.0.0', 'stable']);
        // Without the other tag, the digest deletion goes ahead.
        await fetch(`http://${registry.host}/v2/${repo.path}/manifests/stable`, { method: 'DELETE' });
        const again = await publisher.apply('team', [], [{ name: chart.name, version: '1.0.0' }]);
        assert.equal(again.failed.size, 0, [...again.failed.values()].join('; '));
        assert.equal(await admin.manifest(repo, pushed.digest), undefined, 'the manifest is deleted');
      } finally {
        proxy.rules = [];
      }
    });

  test('a tag moved to an image index by someone else: a conflict for that chart, not a failed sync', async () => {
    const publisher = new OciPublisher({
      url: `oci://${registry.host}/cs`,
      dataDir: join(tmp.path, 'data-index'),
      timeoutMs: 5000,
    });
    const chart = await staged('app-index', '1.0.0');
    const other = await staged('other-index', '1.0.0');
    assert.equal((await publisher.apply('idx', [chart], [])).failed.size, 0);
    const repo = chartRepository(`oci://${registry.host}/cs/idx`, chart.name);
    const indexDigest = await moveTagToImageIndex(admin, repo, '1.0.0');

    const listed = await publisher.list('idx');
    assert.deepEqual(listed, [{ name: chart.name, version: '1.0.0', digest: indexDigest }]);
    assert.deepEqual(await publisher.occupied('idx', [{ name: chart.name, version: '1.0.0' }]), []);
    // The sync compares the content of a version listed with another digest: not a chart, no content.
    assert.equal(await publisher.fetch('idx', { name: chart.name, version: '1.0.0' }), undefined);
    const outcome = await publisher.apply('idx', [other], [{ name: chart.name, version: '1.0.0' }]);
    assert.equal(outcome.failed.size, 0, [...outcome.failed.values()].join('; '));
    assert.equal(
      (await admin.manifest(chartRepository(`oci://${registry.host}/cs/idx`, other.name), '1.0.0'))
        ?.digest !== undefined,
      true,
    );
    const raw = await fetch(`http://${registry.host}/v2/${repo.path}/manifests/1.0.0`, {
      method: 'HEAD',
      headers: { accept: 'application/vnd.oci.image.index.v1+json' },
    });
    assert.equal(raw.headers.get('docker-content-digest'), indexDigest, 'the foreign tag is left alone');
  });

  test('a manifest PUT whose answer is lost: the tag is in the ledger, and prune deletes it', async () => {
    const publisher = new OciPublisher({
      url: `oci://${proxy.host}/cs`,
      dataDir: join(tmp.path, 'data-lost-answer'),
      timeoutMs: 5000,
      retry: { retries: 1, baseDelayMs: 1, maxDelayMs: 1 },
    });
    const chart = await staged('app-lost-answer', '1.0.0');
    const repo = chartRepository(`oci://${registry.host}/cs/team`, chart.name);
    proxy.rules = [{ method: 'PUT', path: /\/manifests\/[^/]+$/, action: { kind: 'forward-reset' } }];
    try {
      const outcome = await publisher.apply('team', [chart], []);
      assert.equal(outcome.failed.size, 1, 'the push failed as far as chartsync knows');
    } finally {
      proxy.rules = [];
    }
    const pushed = await admin.manifest(repo, '1.0.0');
    assert.ok(pushed, 'yet the registry holds the tag');
    assert.deepEqual(await publisher.list('team'), [
      { name: chart.name, version: '1.0.0', digest: chart.digest },
    ]);
    const pruned = await publisher.apply('team', [], [{ name: chart.name, version: '1.0.0' }]);
    assert.equal(pruned.failed.size, 0, [...pruned.failed.values()].join('; '));
    assert.equal(await admin.manifest(repo, '1.0.0'), undefined, 'pruned');
  });
});
