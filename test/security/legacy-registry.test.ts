/**
 * Registrations written by an older version kept an ssh password inside the git URL (and a
 * dependency URL could hold user info): after an upgrade, `GET /repo`, `GET /repo/:name` and
 * `GET /repo/dependency` must still never show them.
 */
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { tempDir } from '../harness/paths.ts';
import { startWorld, type World } from './world.ts';

const PW = 'legacy-pw-77c1';
let tmp: { path: string; cleanup: () => Promise<void> };
let w: World;

before(async () => {
  tmp = await tempDir('chartsync-legacy-');
  const data = join(tmp.path, 'data');
  await mkdir(data, { recursive: true });
  await writeFile(
    join(data, 'registry.json'),
    JSON.stringify({
      version: 1,
      dependencies: { old: { name: 'old', url: `https://bot:${PW}@charts.example.com/stable` } },
      repos: {
        legacy: { name: 'legacy', git: `ssh://git:${PW}@git.example.com/x.git`, prune: true },
        scp: { name: 'scp', git: `git:${PW}@git.example.com:x.git`, prune: true },
      },
    }),
    { mode: 0o600 },
  );
  w = await startWorld({ data });
});
after(async () => {
  await w?.stop();
  await tmp?.cleanup();
});

test('views of registrations stored with credentials in the URL show none', async () => {
  for (const path of ['/repo', '/repo/legacy', '/repo/scp', '/repo/dependency']) {
    const a = await w.api('GET', path);
    assert.equal(a.status, 200, a.text);
    assert.ok(!a.text.includes(PW), `${path}: ${a.text}`);
  }
  assert.equal((await w.api('GET', '/repo/legacy')).json.git, 'ssh://git@git.example.com/x.git');
});
