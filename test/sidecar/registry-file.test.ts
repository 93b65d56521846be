/**
 * registry.json as the store writes it: valid JSON that a restart reads back exactly, one record
 * per line, and a write that changes one record encodes that record, not the whole registry
 * again (a thousand repos registering, then finishing their syncs, make two thousand writes).
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { RegistryStore, type RepoRecord } from '@chartsync/sidecar/server';
import { tempDir } from '../harness/paths.ts';

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups) await c();
});

const record = (i: number, extra: Partial<RepoRecord> = {}): RepoRecord => ({
  name: `repo-${i}`,
  git: `https://git.example.com/team/charts-${i}.git`,
  prune: true,
  ...(i % 3 === 0 ? { auth: { username: 'u', password: `p\n"${i}"` } } : {}),
  ...extra,
});

test('registry.json reads back exactly after a restart, one record per line; a write encodes only what changed', async () => {
  const tmp = await tempDir('chartsync-registry-');
  cleanups.push(tmp.cleanup);
  const store = new RegistryStore(tmp.path);
  await store.load();
  await store.putDependency({ name: 'stable', url: 'https://charts.example.com' });
  for (let i = 0; i < 200; i++) await store.putRepo(record(i));
  await store.removeRepo('repo-7');

  // One more sync result: count what JSON.stringify encodes meanwhile.
  const original = JSON.stringify;
  let encoded = 0;
  JSON.stringify = ((...args: Parameters<typeof JSON.stringify>) => {
    const out = original(...args);
    // objects only: each key is encoded as well, a name's few characters
    if (typeof args[0] === 'object') encoded += out?.length ?? 0;
    return out;
  }) as typeof JSON.stringify;
  const changed = record(42, {
    lastSync: {
      name: 'repo-42',
      commit: 'a'.repeat(40),
      changed: true,
      durationMs: 5,
      charts: [],
      at: '2026-01-01T00:00:00.000Z',
    },
  });
  try {
    await store.putRepo(changed);
  } finally {
    JSON.stringify = original;
  }
  const text = await readFile(join(tmp.path, 'registry.json'), 'utf8');
  assert.ok(
    encoded < 3 * original(changed).length,
    `${encoded} characters encoded for a change of ${original(changed).length} in a ${text.length}-character file`,
  );

  const parsed = JSON.parse(text) as { version: number; repos: Record<string, RepoRecord> };
  assert.equal(parsed.version, 1);
  assert.equal(Object.keys(parsed.repos).length, 199);
  assert.deepEqual(parsed.repos['repo-42'], changed);
  assert.equal(text.split('\n').filter((l) => l.includes('"git":')).length, 199, 'one line per repo');
  const restarted = new RegistryStore(tmp.path);
  await restarted.load();
  assert.deepEqual(restarted.repos(), store.repos());
  assert.deepEqual(restarted.dependencies(), store.dependencies());
  assert.equal(restarted.repo('repo-7'), undefined);
});

test('a hand-edited or damaged registry.json is refused at load naming the file and the record', async () => {
  const tmp = await tempDir('chartsync-registry-');
  cleanups.push(tmp.cleanup);
  const file = join(tmp.path, 'registry.json');
  const repo = { name: 'a', git: 'https://git.example.com/a.git', prune: true };
  const cases: [unknown, RegExp][] = [
    [null, /does not hold a JSON object/],
    [[], /does not hold a JSON object/],
    [{ repos: [] }, /"repos" is not an object/],
    [{ repos: 'a' }, /"repos" is not an object/],
    [{ repos: { a: null } }, /repos\."a" is not an object/],
    [{ repos: { a: { ...repo, name: undefined } } }, /repos\."a" has the name undefined, not its key/],
    [{ repos: { b: repo } }, /repos\."b" has the name "a", not its key/],
    [{ repos: { a: { ...repo, git: 7 } } }, /repos\."a" has no "git" URL/],
    [{ dependencies: { d: { name: 'd' } } }, /dependencies\."d" has no "url" URL/],
    // schedules start with the sidecar: one it cannot run is named, with its repo and the file
    [
      { repos: { a: { ...repo, schedule: 'every day' } } },
      /repos\."a": schedule "every day" is not a valid cron/,
    ],
    [{ repos: { a: { ...repo, everyMinutes: 7 } } }, /repos\."a": everyMinutes 7 has no exact cron form/],
    [{ repos: { a: { ...repo, schedule: 5 } } }, /repos\."a": schedule is not a string/],
  ];
  for (const [content, message] of cases) {
    await writeFile(file, JSON.stringify(content));
    await assert.rejects(new RegistryStore(tmp.path).load(), (err: Error) => {
      assert.match(err.message, message, JSON.stringify(content));
      assert.ok(err.message.includes(file), err.message);
      return true;
    });
  }
  // what the store writes itself (and older files without a section) still loads
  await writeFile(file, JSON.stringify({ version: 1, repos: { a: repo } }));
  const store = new RegistryStore(tmp.path);
  await store.load();
  assert.deepEqual(store.repos(), [repo]);
  assert.deepEqual(store.dependencies(), []);
});
