/**
 * `kill -9` of the sidecar in the middle of a sync (while it writes archives into storage, and
 * while it checks out), then a restart on the same dirs: the registration is intact, no partial
 * archive is visible (every `.tgz` in storage is complete, the index lists only archives that
 * are there with their digest), helm can pull everything the index lists, and the next sync
 * completes and publishes everything.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { watch } from 'node:fs';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { parse } from 'yaml';
import { ChartMuseumApi } from '../harness/chartmuseum-api.ts';
import { type FixtureRepo, fileUrl } from '../harness/git-server.ts';
import { Helm } from '../harness/helm.ts';
import { tempDir } from '../harness/paths.ts';
import { startWorld, until, type World } from '../security/world.ts';
import { chartFiles } from '../sidecar/fixtures.ts';

const CHARTS = 40;
let w: World;
let repo: Awaited<ReturnType<World['git']['repos']['create']>>;

/** CHARTS charts, each with 256 KiB of incompressible data, all at `version`. */
function charts(version: string): Record<string, string | Buffer> {
  const files: Record<string, string | Buffer> = {};
  for (let i = 0; i < CHARTS; i++) {
    Object.assign(files, chartFiles(`charts/c${i}`, `c${i}`, { version }));
    files[`charts/c${i}/files/blob.bin`] = randomBytes(256 * 1024);
  }
  return files;
}

/** Every chart at each of `versions`, as archive names, sorted. */
const all = (versions: string[]) =>
  versions.flatMap((v) => Array.from({ length: CHARTS }, (_, i) => `c${i}-${v}.tgz`)).sort();

interface IndexDoc {
  entries: Record<string, { version: string; digest: string; urls: string[] }[]>;
}

/** The storage of `name` is consistent: complete archives only, the index true to them. */
async function assertConsistent(name: string): Promise<string[]> {
  const dir = join(w.storage, name);
  const files = await readdir(dir).catch(() => [] as string[]);
  const archives = files.filter((f) => f.endsWith('.tgz'));
  for (const f of archives) gunzipSync(await readFile(join(dir, f))); // throws on a torn archive
  assert.deepEqual(
    files.filter((f) => !f.startsWith('.') && !f.endsWith('.tgz') && f !== 'index.yaml'),
    [],
    'nothing else visible',
  );
  if (!files.includes('index.yaml')) return [];
  const index = parse(await readFile(join(dir, 'index.yaml'), 'utf8')) as IndexDoc;
  const listed: string[] = [];
  for (const versions of Object.values(index.entries ?? {}))
    for (const v of versions) {
      const file = v.urls[0] as string;
      assert.ok(archives.includes(file), `the index lists ${file}, which is there`);
      const digest = createHash('sha256')
        .update(await readFile(join(dir, file)))
        .digest('hex');
      assert.equal(digest, v.digest, `${file} has the digest the index says`);
      listed.push(file);
    }
  return listed.sort();
}

/** Starts an update without waiting for it; kills -9 once `trigger` resolves. */
async function killDuring(trigger: () => Promise<void>): Promise<void> {
  const pending = w.api('POST', '/repo/big/update').catch((e: Error) => e);
  await trigger();
  w.sidecar.proc.kill('SIGKILL');
  const answer = await pending;
  assert.ok(answer instanceof Error || answer.status !== 200, 'the killed sync did not answer success');
  await until('the sidecar to be gone', async () => w.sidecar.proc.signalCode === 'SIGKILL');
}

before(async () => {
  w = await startWorld({ args: ['--allow-local-git'] });
  repo = await w.git.repos.create('big', charts('1.0.0'));
  const first = await w.api('POST', '/repo/new', { json: { name: 'big', git: fileUrl(repo) } });
  assert.equal(first.status, 200, first.text);
});
after(async () => {
  await w?.stop();
});

describe('kill -9 in the middle of a sync', () => {
  test('while archives are being written: storage stays consistent, the restart completes the sync', async (t) => {
    await repo.write(charts('2.0.0'));
    await repo.commit('2.0.0 everywhere');
    await repo.push();
    const dir = join(w.storage, 'big');
    await killDuring(
      () =>
        new Promise<void>((resolve) => {
          const watcher = watch(dir, (_event, file) => {
            if (file?.startsWith('.c') || file?.startsWith('c')) {
              watcher.close();
              resolve();
            }
          });
        }),
    );
    const afterKill = await assertConsistent('big');
    const present = (await readdir(dir)).filter((f) => /-2\.0\.0\.tgz/.test(f));
    t.diagnostic(
      `at the kill: ${present.filter((f) => f.endsWith('.tgz')).length} complete and ${present.length - present.filter((f) => f.endsWith('.tgz')).length} temp 2.0.0 archives, ${afterKill.filter((f) => f.includes('-2.0.0')).length} listed`,
    );
    assert.ok(afterKill.length >= CHARTS, 'the 1.0.0 charts are still listed');
    await w.restart();
    const view = await w.api('GET', '/repo/big');
    assert.equal(view.status, 200, 'the registration survived');
    assert.equal(view.json.git, fileUrl(repo));
    const next = await w.api('POST', '/repo/big/update');
    assert.equal(next.status, 200, next.text);
    const listed = await assertConsistent('big');
    // older versions of charts still in git are kept (users pin them): both are listed
    assert.deepEqual(listed, all(['1.0.0', '2.0.0']));
    assert.deepEqual(
      (await readdir(dir)).filter((f) => f.endsWith('.tmp')),
      [],
      'temp files of the killed writes are cleaned up by the next sync',
    );
  });

  test('while checking out: the restart completes the sync', async () => {
    await repo.write(charts('3.0.0'));
    await repo.commit('3.0.0 everywhere');
    await repo.push();
    const logged = w.sidecar.logs.length;
    await killDuring(async () => {
      await until('the sync to start', async () =>
        w.sidecar.logs.slice(logged).some((l) => /sync started/.test(l)),
      );
    });
    await assertConsistent('big');
    await w.restart();
    const next = await w.api('POST', '/repo/big/update');
    assert.equal(next.status, 200, next.text);
    assert.equal(next.json.commit, await repo.head());
    const listed = await assertConsistent('big');
    assert.deepEqual(listed, all(['1.0.0', '2.0.0', '3.0.0']));
  });

  test('helm can add the repository and pull every listed version', async () => {
    await mkdir(join(w.root, 'helm'), { recursive: true });
    await mkdir(join(w.root, 'pulled'), { recursive: true });
    const helm = new Helm(join(w.root, 'helm'));
    await helm.addRepo('big', `${w.sidecar.url}/charts/big`);
    for (let i = 0; i < CHARTS; i += 1) {
      const file = await helm.pull(`big/c${i}`, '3.0.0', join(w.root, 'pulled'));
      assert.match(file, /c\d+-3\.0\.0\.tgz$/);
    }
  });
});

describe('kill -9 while uploading to ChartMuseum', () => {
  const auth = { username: 'museum', password: 'museum-pass' };
  let cw: World;
  let cm: ChartMuseumApi;
  let cmTmp: { path: string; cleanup: () => Promise<void> };
  let cmRepo: FixtureRepo;

  before(async () => {
    cmTmp = await tempDir('chartsync-cm-kill-');
    cm = await new ChartMuseumApi({ root: cmTmp.path, ...auth }).start();
    cw = await startWorld({
      args: ['--allow-local-git'],
      targetArgs: ['--chartmuseum-url', cm.url],
      env: { CHARTMUSEUM_USERNAME: auth.username, CHARTMUSEUM_PASSWORD: auth.password },
    });
    cmRepo = await cw.git.repos.create('up', charts('1.0.0'));
  });
  after(async () => {
    await cw?.stop();
    await cm?.stop();
    await cmTmp?.cleanup();
  });

  test('no partial archive in ChartMuseum; the restart uploads the rest; helm pulls every version', async () => {
    const pending = cw
      .api('POST', '/repo/new', { json: { name: 'up', git: fileUrl(cmRepo) } })
      .catch((e) => e);
    await until('the first upload', async () => cm.requests.some((r) => r === 'POST /api/up/charts'));
    cw.sidecar.proc.kill('SIGKILL');
    await pending;
    await until('the sidecar to be gone', async () => cw.sidecar.proc.signalCode === 'SIGKILL');
    const stored = async () => (await readdir(join(cmTmp.path, 'up')).catch(() => [] as string[])).sort();
    for (const f of await stored()) gunzipSync(await readFile(join(cmTmp.path, 'up', f)));
    await cw.restart();
    const next = await cw.api('POST', '/repo/up/update');
    assert.equal(next.status, 200, next.text);
    assert.deepEqual(await stored(), all(['1.0.0']));
    const helm = new Helm(join(cw.root, 'helm'));
    await mkdir(join(cw.root, 'helm'), { recursive: true });
    await mkdir(join(cw.root, 'pulled'), { recursive: true });
    await helm.addRepo('up', `${cm.url}/up`, auth, { passCredentials: true });
    for (let i = 0; i < CHARTS; i++) await helm.pull(`up/c${i}`, '1.0.0', join(cw.root, 'pulled'));
  });
});
