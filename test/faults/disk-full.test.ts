/**
 * Disk full on the storage dir: the storage is a tiny tmpfs mount (the suite runs as root), a
 * commit brings more than fits. The sync answers 502 naming the storage dir and ENOSPC; no torn
 * archive is visible, the index lists only complete archives with their digests, what was
 * published before is still there. Once space is back (the mount grows), the next sync
 * publishes everything. Out of inodes while writing index.yaml: 502 `StorageFull`, the batch's
 * archives rolled back. `/readyz` is 503 while the storage cannot be written, ready again after.
 * A full data dir refuses a registration with 502 `StorageFull`, and the refused registration
 * appears nowhere, not later, not after a restart.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, rmdir, statfs, writeFile } from 'node:fs/promises';
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
function tinyFs(size: string): {
  path: () => string;
  grow: (to: string) => Promise<void>;
  remount: (options: string) => Promise<void>;
} {
  let mountPoint = '';
  let mounted = false;
  before(async () => {
    mountPoint = await mkdtemp(join(tmpdir(), 'chartsync-tinyfs-'));
    await run('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0755`, 'tmpfs', mountPoint]);
    mounted = true;
  });
  after(async () => {
    // A git process of the sidecar may still be exiting: retry, then detach lazily.
    for (let i = 0; mounted && i < 20; i++) {
      try {
        await run('umount', [mountPoint]);
        mounted = false;
      } catch {
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    if (mounted) await run('umount', ['-l', mountPoint]);
    await rmdir(mountPoint).catch(() => undefined);
  });
  return {
    path: () => mountPoint,
    grow: async (to) => {
      await run('mount', ['-o', `remount,size=${to}`, mountPoint]);
    },
    remount: async (options) => {
      await run('mount', ['-o', `remount,${options}`, mountPoint]);
    },
  };
}

/** Inodes in use on the filesystem holding `path`. */
async function inodesUsed(path: string): Promise<number> {
  const st = await statfs(path);
  return st.files - st.ffree;
}

/**
 * Fills the filesystem holding `dir` until a write fails with ENOSPC: files of 64 KiB (bytes),
 * then empty files (inodes) when `inodes`. Returns the undo.
 */
async function fill(dir: string, o: { inodes?: boolean } = {}): Promise<() => Promise<void>> {
  const filler = join(dir, 'filler');
  await mkdir(filler, { recursive: true });
  const chunk = Buffer.alloc(64 * 1024, 1);
  const until = async (write: (i: number) => Promise<void>) => {
    for (let i = 0; i < 1_000_000; i++) {
      try {
        await write(i);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOSPC') return;
        throw err;
      }
    }
    throw new Error(`${dir} never filled up`);
  };
  await until((i) => writeFile(join(filler, `b${i}`), chunk));
  if (o.inodes) await until((i) => writeFile(join(filler, `i${i}`), ''));
  return () => rm(filler, { recursive: true, force: true });
}

async function readyz(w: World): Promise<{ status: number; json: Record<string, unknown> }> {
  return w.api('GET', '/readyz', { token: null });
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
    assert.equal(
      failed.json.reason,
      'StorageFull',
      'a full disk under the checkout is StorageFull, not GitFailed',
    );
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

  test('/readyz is 503 StorageFull naming the data dir while it cannot be written (the storage is fine)', async () => {
    const undo = await fill(fs.path());
    try {
      const full = await readyz(w);
      assert.equal(full.status, 503, JSON.stringify(full.json));
      assert.equal(full.json.reason, 'StorageFull');
      assert.match(String(full.json.message), /data dir .*data/);
    } finally {
      await undo();
    }
    assert.equal((await readyz(w)).status, 200);
  });
});

describe('out of inodes on the storage dir while the index is written', () => {
  const fs = tinyFs('64m');
  let w: World;
  before(async () => {
    w = await startWorld({ args: ['--allow-local-git'], storage: join(fs.path(), 'storage') });
  });
  after(async () => {
    await w?.stop();
  });

  test('502 StorageFull naming the storage dir and index.yaml; the batch rolled back; /readyz follows the disk', async () => {
    const repo = await w.git.repos.create('full', chartFiles('small', 'small'));
    assert.equal(
      (await w.api('POST', '/repo/new', { json: { name: 'full', git: fileUrl(repo) } })).status,
      200,
    );
    const before = await indexed(w);
    assert.equal((await readyz(w)).status, 200);

    await repo.write({ ...chartFiles('two', 'two'), ...chartFiles('three', 'three') });
    await repo.commit('two more charts');
    await repo.push();
    // Room for exactly the two new archives: the index's temp file is the inode too many.
    await fs.remount(`nr_inodes=${(await inodesUsed(fs.path())) + 2}`);
    const failed = await w.api('POST', '/repo/full/update');
    assertError(failed, 502, 'upstream_failed', /index\.yaml.*(ENOSPC|no space left)/i);
    assert.equal(failed.json.reason, 'StorageFull', failed.text);
    assert.match(String(failed.json.message), new RegExp(w.storage.replaceAll('/', '\\/')));
    const dir = join(w.storage, 'full');
    assert.deepEqual(
      (await readdir(dir)).filter((f) => f.endsWith('.tgz')),
      ['small-1.0.0.tgz'],
      'no archive outside the index: the batch was rolled back',
    );
    assert.deepEqual(await indexed(w), before);
    const view = await w.api('GET', '/repo/full');
    const last = view.json.lastSync as {
      error?: { reason?: string };
      charts: { name: string; reason?: string }[];
    };
    assert.equal(last.charts.find((c) => c.name === 'two')?.reason, 'StorageFull');

    const undo = await fill(fs.path(), { inodes: true });
    const full = await readyz(w);
    assert.equal(full.status, 503, JSON.stringify(full.json));
    assert.equal(full.json.reason, 'StorageFull');
    assert.match(String(full.json.message), /not writable/);
    await undo();
    assert.equal((await readyz(w)).status, 200, 'ready again once an inode is free');

    await fs.remount('nr_inodes=100000');
    const next = await w.api('POST', '/repo/full/update');
    assert.equal(next.status, 200, next.text);
    assert.deepEqual(Object.keys(await indexed(w)).sort(), [
      'small-1.0.0.tgz',
      'three-1.0.0.tgz',
      'two-1.0.0.tgz',
    ]);
  });

  test('/readyz is 503 StorageFull while no byte can be written, ready again after', async () => {
    const undo = await fill(fs.path());
    try {
      const full = await readyz(w);
      assert.equal(full.status, 503, JSON.stringify(full.json));
      assert.equal(full.json.reason, 'StorageFull');
    } finally {
      await undo();
    }
    assert.equal((await readyz(w)).status, 200);
  });
});

describe('data dir full while registering', () => {
  const fs = tinyFs('2m');
  let w: World;
  before(async () => {
    w = await startWorld({ args: ['--allow-local-git'], data: join(fs.path(), 'data') });
  });
  after(async () => {
    await w?.stop();
  });

  test('a registration answered 502 StorageFull exists nowhere: not listed, not written later, not after a restart', async () => {
    const ok = await w.git.repos.create('ok', chartFiles('a', 'a'));
    const refused = await w.git.repos.create('refused', chartFiles('b', 'b'));
    const undo = await fill(fs.path());
    const dep = await w.api('POST', '/repo/dependency', {
      json: { name: 'lost', url: 'https://charts.example.com' },
    });
    assertError(dep, 502, 'upstream_failed', /registrations/);
    assert.equal(dep.json.reason, 'StorageFull', dep.text);
    const a = await w.api('POST', '/repo/new', { json: { name: 'refused', git: fileUrl(refused) } });
    assertError(a, 502, 'upstream_failed', /(ENOSPC|no space left)/i);
    assert.equal(a.json.reason, 'StorageFull', a.text);
    assert.match(
      String(a.json.message),
      new RegExp(w.data.replaceAll('/', '\\/')),
      'the message names the data dir',
    );
    assert.equal((await w.api('GET', '/repo/refused')).status, 404, 'not kept in memory');
    assert.deepEqual((await w.api('GET', '/repo/dependency')).json, [] as unknown as Record<string, unknown>);

    await undo();
    const good = await w.api('POST', '/repo/new', { json: { name: 'ok', git: fileUrl(ok) } });
    assert.equal(good.status, 200, good.text);
    const names = async () =>
      ((await w.api('GET', '/repo')).json as unknown as { name: string }[]).map((r) => r.name);
    assert.deepEqual(await names(), ['ok']);
    assert.doesNotMatch(await readFile(join(w.data, 'registry.json'), 'utf8'), /refused|lost/);
    await w.sidecar.stop(5000);
    await w.restart();
    assert.deepEqual(await names(), ['ok'], 'after a restart too');
    assert.deepEqual((await w.api('GET', '/repo/dependency')).json, [] as unknown as Record<string, unknown>);
  });
});
