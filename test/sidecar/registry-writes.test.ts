/**
 * The registrations file under load: many repositories registering and finishing their first
 * syncs at once share file writes (each write carries every change that arrived while the one
 * before it was under way) instead of queueing one whole-file write + fsync per change; and
 * nothing is lost doing so — a restarted sidecar knows every registration and every result.
 * The kernel (inotify on the data dir) counts the writes.
 */
import assert from 'node:assert/strict';
import { type FSWatcher, watch } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { RepoView } from '@chartsync/api';
import { fileUrl, RepoRoot } from '../harness/git-server.ts';
import { tempDir } from '../harness/paths.ts';
import { type SidecarProcess, startSidecarProcess } from '../harness/sidecar.ts';
import { chartFiles } from './fixtures.ts';

const TOKEN = 'registry-writes-token-4d2c';
const COUNT = 60;

describe('sidecar: registrations file under many registrations at once', { timeout: 180_000 }, () => {
  let tmp: { path: string; cleanup: () => Promise<void> };
  let sidecar: SidecarProcess | undefined;
  let watcher: FSWatcher | undefined;
  let storage: string;
  let data: string;

  const serve = () =>
    startSidecarProcess({
      args: ['--storage-dir', storage, '--data-dir', data, '--allow-local-git'],
      token: TOKEN,
      env: { LOG_LEVEL: 'info' },
    });

  before(async () => {
    tmp = await tempDir('chartsync-registry-writes-');
    storage = join(tmp.path, 'storage');
    data = join(tmp.path, 'data');
    await mkdir(data, { recursive: true });
  });
  after(async () => {
    watcher?.close();
    await sidecar?.stop();
    await tmp?.cleanup();
  });

  test(`${COUNT} registrations and their first syncs share writes of registry.json; a restart knows them all`, async () => {
    const repo = await new RepoRoot(join(tmp.path, 'repos')).create(
      'shared',
      chartFiles('charts/app', 'app'),
    );
    sidecar = await serve();
    let writes = 0;
    // Each write renames a finished temp file over registry.json: one IN_MOVED_TO per write.
    watcher = watch(data, (event, file) => {
      if (event === 'rename' && file === 'registry.json') writes++;
    });
    const client = sidecar.client();
    const names = Array.from({ length: COUNT }, (_, i) => `many-${String(i).padStart(2, '0')}`);
    await Promise.all(names.map((name) => client.registerRepo({ name, git: fileUrl(repo), prune: true })));
    const deadline = Date.now() + 120_000;
    let views: RepoView[] = [];
    for (;;) {
      views = await client.listRepos();
      if (views.filter((v) => v.lastSync && !v.syncing).length >= COUNT) break;
      assert.ok(Date.now() < deadline, 'every first sync finished within 2 minutes');
      await new Promise((r) => setTimeout(r, 200));
    }
    await new Promise((r) => setTimeout(r, 300));
    watcher.close();
    for (const v of views) assert.equal(v.lastSync?.error, undefined, `${v.name} synced`);
    // One write per change would be 2 x COUNT (each registration, then each sync's result).
    assert.ok(writes > 0, 'registry.json was written');
    assert.ok(
      writes < COUNT,
      `${writes} writes of registry.json for ${COUNT} registrations and ${COUNT} sync results`,
    );

    await sidecar.stop();
    sidecar = await serve();
    const again = await sidecar.client().listRepos();
    assert.deepEqual(
      again.map((v) => [v.name, v.lastSync?.commit]).sort(),
      views.map((v) => [v.name, v.lastSync?.commit]).sort(),
      'every registration and every sync result survived the restart',
    );
  });
});
