/**
 * Disk full on the storage dir: the storage is a tiny tmpfs mount (the suite runs as root), a
 * commit brings more than fits. The sync answers 502 naming the storage dir and ENOSPC; no torn
 * archive is visible, the index lists only complete archives with their digests, what was
 * published before is still there. Once space is back (the mount grows), the next sync
 * publishes everything.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { parse } from 'yaml';
import { fileUrl } from '../harness/git-server.ts';
import { assertError, startWorld, type World } from '../security/world.ts';
import { chartFiles } from '../sidecar/fixtures.ts';

const run = promisify(execFile);
/** A tmpfs of `size` mounted for the duration of the file's tests. */
function tinyFs(size: string): { path: () => string; grow: (to: string) => Promise<void> } {
  let mountPoint = '';
  let mounted = false;
  before(async () => {
    mountPoint = await mkdtemp(join(tmpdir(), 'chartsync-tinyfs-'));
    await run('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0755`, 'tmpfs', mountPoint]);
    mounted = true;
  });
  after(async () => {
    if (mounted) await run('umount', [mountPoint]);
    await rmdir(mountPoint).catch(() => undefined);
  });
  return {
    path: () => mountPoint,
    grow: async (to) => {
      await run('mount', ['-o', `remount,size=${to}`, mountPoint]);
    },
  };
}

/** Six charts of 300 KiB of random bytes each (more than 1 MiB together). */
function bigCharts(): Record<string, string | Buffer> {
  const big: Record<string, string | Buffer> = {};
  for (let i = 0; i < 6; i++) {
    Object.assign(big, chartFiles(`big${i}`, `big${i}`));
    big[`big${i}/files/blob.bin`] = randomBytes(300 * 1024);
  }
  return big;
}

async function indexed(w: World): Promise<Record<string, string>> {
  const dir = join(w.storage, 'full');
  const index = parse(await readFile(join(dir, 'index.yaml'), 'utf8')) as {
    entries: Record<string, { digest: string; urls: string[] }[]>;
  };
  const out: Record<string, string> = {};
  for (const versions of Object.values(index.entries))
    for (const v of versions) {
      const file = v.urls[0] as string;
      const data = await readFile(join(dir, file));
      gunzipSync(data);
      assert.equal(createHash('sha256').update(data).digest('hex'), v.digest, file);
      out[file] = v.digest;
    }
  return out;
}

describe('disk full on the storage dir', () => {
  const fs = tinyFs('1m');
  let w: World;
  before(async () => {
    w = await startWorld({ args: ['--allow-local-git'], storage: join(fs.path(), 'storage') });
  });
  after(async () => {
    await w?.stop();
  });

  test('ENOSPC: 502 naming the storage dir, nothing half published, the old charts intact; recovery once space is back', async () => {
    const repo = await w.git.repos.create('full', chartFiles('small', 'small'));
    const first = await w.api('POST', '/repo/new', { json: { name: 'full', git: fileUrl(repo) } });
    assert.equal(first.status, 200, first.text);
    const before = await indexed(w);
    assert.deepEqual(Object.keys(before), ['small-1.0.0.tgz']);

    await repo.write(bigCharts());
    await repo.commit('six big charts: more than the 1 MiB storage holds');
    await repo.push();
    const failed = await w.api('POST', '/repo/full/update');
    assertError(failed, 502, 'upstream_failed', /storage dir .*ENOSPC|no space left/i);
    assert.match(String(failed.json.message), new RegExp(w.storage.replaceAll('/', '\\/')));

    const dir = join(w.storage, 'full');
    const files = await readdir(dir);
    for (const f of files.filter((n) => n.endsWith('.tgz'))) gunzipSync(await readFile(join(dir, f)));
    const now = await indexed(w);
    assert.equal(
      now['small-1.0.0.tgz'],
      before['small-1.0.0.tgz'],
      'the old chart is still listed as it was',
    );
    const view = await w.api('GET', '/repo/full');
    assert.equal((view.json.lastSync as { error?: { error: string } }).error?.error, 'upstream_failed');

    await fs.grow('64m');
    const next = await w.api('POST', '/repo/full/update');
    assert.equal(next.status, 200, next.text);
    const all = await indexed(w);
    assert.deepEqual(
      Object.keys(all).sort(),
      ['small-1.0.0.tgz', ...Array.from({ length: 6 }, (_, i) => `big${i}-1.0.0.tgz`)].sort(),
    );
    assert.deepEqual(
      (await readdir(dir)).filter((f) => f.endsWith('.tmp')),
      [],
      'no temp file of a failed write left behind',
    );
  });
});

describe('disk full on the data dir (clones)', () => {
  const fs = tinyFs('1m');
  let w: World;
  before(async () => {
    w = await startWorld({ args: ['--allow-local-git'], data: join(fs.path(), 'data') });
  });
  after(async () => {
    await w?.stop();
  });

  test('the checkout fails saying the disk is full; registrations and other repos unaffected; recovery', async () => {
    const small = await w.git.repos.create('small', chartFiles('a', 'a'));
    assert.equal(
      (await w.api('POST', '/repo/new', { json: { name: 'small', git: fileUrl(small) } })).status,
      200,
    );
    const published = await readFile(join(w.storage, 'small/a-1.0.0.tgz'));
    const big = await w.git.repos.create('big', bigCharts());
    const failed = await w.api('POST', '/repo/new', { json: { name: 'big', git: fileUrl(big) } });
    assertError(failed, 502, 'upstream_failed', /No space left on device/);
    assert.match(String(failed.json.message), /disk .* is full/);
    const repos = (await w.api('GET', '/repo')).json as unknown as { name: string }[];
    assert.deepEqual(
      repos.map((r) => r.name),
      ['big', 'small'],
      'both registrations kept',
    );
    assert.equal((await w.api('POST', '/repo/small/update')).status, 200, 'another repo still syncs');
    assert.deepEqual(await readFile(join(w.storage, 'small/a-1.0.0.tgz')), published);
    assert.deepEqual(await readdir(join(w.storage, 'big')).catch(() => []), [], 'nothing of big published');
    await fs.grow('64m');
    const next = await w.api('POST', '/repo/big/update');
    assert.equal(next.status, 200, next.text);
    assert.equal((next.json.charts as unknown[]).length, 6);
  });
});
