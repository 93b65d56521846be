/**
 * Hostile git repositories synced through the running sidecar: symlinks leaving the chart or
 * the repository, a chart named `../x`, huge files, deep nesting, many files, YAML alias bombs,
 * invalid UTF-8, a Chart.yaml that is a directory. Each bad chart is reported `failed` with a
 * message naming the problem, the good charts beside it are published, nothing is written
 * outside the storage dir, the published index lists exactly the good charts, and the sidecar's
 * memory stays bounded.
 */
import assert from 'node:assert/strict';
import { lstat, readdir, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse } from 'yaml';
import { fileUrl } from '../harness/git-server.ts';
import { chartFiles } from '../sidecar/fixtures.ts';
import { assertOutsideUntouched, published, snapshot, startWorld, type World } from './world.ts';

/** 9^10 strings when expanded, a few hundred bytes written. */
function aliasBomb(levels = 10): string {
  const names = Array.from({ length: levels }, (_, i) => `l${i}`);
  const lines = [`${names[0]}: &${names[0]} ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]`];
  for (let i = 1; i < levels; i++) {
    const prev = `*${names[i - 1]}`;
    lines.push(`${names[i]}: &${names[i]} [${Array(9).fill(prev).join(',')}]`);
  }
  return `${lines.join('\n')}\n`;
}

const chart = (name: string, yaml: string | Buffer) => ({ [`charts/${name}/Chart.yaml`]: yaml });
const head = (name: string) => `apiVersion: v2\nname: ${name}\nversion: 1.0.0\n`;
const deepPath = `templates/${Array(100).fill('d').join('/')}/cm.yaml`;
const manyFiles = Object.fromEntries(
  Array.from({ length: 3000 }, (_, i) => [`charts/many/files/f${i}.txt`, `${i}\n`]),
);

/** Bad chart dir -> what its error must say. */
const BAD: Record<string, RegExp> = {
  'charts/link-out': /templates\/passwd\.yaml: symbolic link points outside the chart directory/,
  'charts/link-repo': /templates\/other\.yaml: symbolic link points outside the chart directory/,
  'charts/link-dir': /templates\/etc: symbolic link points outside the chart directory/,
  'charts/dotdot': /name "\.\.\/x" is invalid: it must not contain "\/"/,
  'charts/traverse': /name "a\/\.\.\/\.\.\/\.\.\/outside\/pwned" is invalid/,
  'charts/version-traverse': /version "1\.0\.0\/\.\.\/\.\.\/x" is not a valid SemVer 2 version/,
  'charts/huge': /files\/big\.bin: file is larger than the maximum file size 5242880/,
  'charts/bomb-values': /values\.yaml: invalid YAML: document expands to too many values \(alias bomb\?\)/,
  'charts/bomb-chart': /Chart\.yaml: invalid YAML: .*too many values \(alias bomb\?\)/,
  'charts/utf8-chart': /Chart\.yaml: invalid YAML: the file is not valid UTF-8/,
  'charts/utf8-values': /values\.yaml: invalid YAML: the file is not valid UTF-8/,
  'charts/dir-chart': /Chart\.yaml file is missing/,
};
/** Good charts (name -> dir) that must be published despite everything around them. */
const GOOD = ['good', 'deep', 'many', 'utf8-template'];

let w: World;
let result: { status: number; charts: { name: string; version: string; action: string; error?: string }[] };

before(async () => {
  w = await startWorld({ args: ['--allow-local-git'] });
  const repo = await w.git.repos.create('hostile', {
    ...chartFiles('charts/good', 'good'),
    ...chartFiles('charts/link-out', 'link-out'),
    ...chartFiles('charts/link-repo', 'link-repo'),
    ...chartFiles('charts/link-dir', 'link-dir'),
    ...chartFiles('charts/dotdot', 'x'),
    ...chart('dotdot', head('../x')),
    ...chartFiles('charts/traverse', 'x'),
    ...chart('traverse', head('a/../../../outside/pwned')),
    ...chartFiles('charts/version-traverse', 'x'),
    ...chart('version-traverse', 'apiVersion: v2\nname: vt\nversion: 1.0.0/../../x\n'),
    ...chartFiles('charts/huge', 'huge'),
    'charts/huge/files/big.bin': Buffer.alloc(6 * 1024 * 1024, 7),
    ...chartFiles('charts/deep', 'deep'),
    [`charts/deep/${deepPath}`]: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: deep\n',
    ...chartFiles('charts/many', 'many'),
    ...manyFiles,
    ...chartFiles('charts/bomb-values', 'bomb-values'),
    'charts/bomb-values/values.yaml': aliasBomb(),
    ...chart('bomb-chart', `${head('bomb-chart')}${aliasBomb()}`),
    ...chart(
      'utf8-chart',
      Buffer.concat([Buffer.from(`${head('utf8-chart')}description: `), Buffer.from([0xff, 0xfe, 0x0a])]),
    ),
    ...chartFiles('charts/utf8-values', 'utf8-values'),
    'charts/utf8-values/values.yaml': Buffer.from([0x61, 0x3a, 0x20, 0xc3, 0x28, 0x0a]),
    ...chartFiles('charts/utf8-template', 'utf8-template'),
    'charts/utf8-template/templates/bytes.txt': Buffer.from([0xff, 0xfe, 0x00, 0x0a]),
    'charts/dir-chart/Chart.yaml/inner.txt': 'a directory named Chart.yaml\n',
    'charts/dir-chart/values.yaml': 'a: 1\n',
  });
  await symlink('/etc/passwd', join(repo.work, 'charts/link-out/templates/passwd.yaml'));
  await symlink('../../good/values.yaml', join(repo.work, 'charts/link-repo/templates/other.yaml'));
  await symlink('/etc', join(repo.work, 'charts/link-dir/templates/etc'));
  await repo.commit('hostile links');
  await repo.push();
  const a = await w.api('POST', '/repo/new', { json: { name: 'hostile', git: fileUrl(repo) } });
  result = { status: a.status, charts: a.json.charts as typeof result.charts };
  assert.equal(a.status, 200, a.text);
});
after(async () => {
  await w?.stop();
});

describe('a repository full of hostile charts', () => {
  test(`${Object.keys(BAD).length} bad charts fail, each with a message naming the problem`, () => {
    // A failed chart is reported under its declared name when Chart.yaml has one, else its dir.
    const failed = result.charts.filter((c) => c.action === 'failed');
    assert.equal(failed.length, Object.keys(BAD).length, JSON.stringify(result.charts, null, 1));
    const claimed = new Set<string>();
    for (const [dir, re] of Object.entries(BAD)) {
      const hit = failed.find((c) => !claimed.has(c.name) && re.test(c.error ?? ''));
      assert.ok(hit, `${dir}: no failure matches ${re}: ${JSON.stringify(failed, null, 1)}`);
      claimed.add(hit.name);
    }
  });

  test(`the ${GOOD.length} good charts beside them are published (deep nesting, 3000 files, odd bytes in a template)`, () => {
    const published = result.charts.filter((c) => c.action === 'published').map((c) => c.name);
    assert.deepEqual(published.sort(), [...GOOD].sort());
  });

  test('storage holds exactly the good archives and an index listing them, nothing else anywhere', async () => {
    const files = Object.keys(await published(w)).sort();
    assert.deepEqual(
      files,
      ['hostile', ...GOOD.map((n) => `hostile/${n}-1.0.0.tgz`).sort(), 'hostile/index.yaml'].sort(),
    );
    const index = parse((await w.api('GET', '/charts/hostile/index.yaml', { token: null })).text) as {
      entries: Record<string, unknown>;
    };
    assert.deepEqual(Object.keys(index.entries).sort(), [...GOOD].sort());
    await assertOutsideUntouched(w);
    assert.deepEqual(
      (await readdir(w.root)).sort(),
      ['data', 'outside', 'storage'],
      'nothing new beside the storage, data and canary dirs',
    );
  });

  test('the checkout holds the links as links (never followed into files), and no hard links', async () => {
    const clone = join(w.data, 'clones/hostile');
    assert.ok((await lstat(join(clone, 'charts/link-out/templates/passwd.yaml'))).isSymbolicLink());
    for (const [rel, kind] of Object.entries(await snapshot(clone))) {
      if (!kind.startsWith('file') || rel.startsWith('.git/')) continue;
      assert.equal((await lstat(join(clone, rel))).nlink, 1, `${rel} is not hard-linked anywhere`);
    }
  });

  test('memory stayed bounded through the bombs (RSS under 400 MiB)', async () => {
    const m = await w.api('GET', '/metrics', { token: null });
    const rss = Number(/process_resident_memory_bytes (\d+)/.exec(m.text)?.[1]);
    assert.ok(rss > 0 && rss < 400 * 1024 * 1024, `rss ${rss}`);
  });

  test('the next update changes nothing and keeps the same failures (no retry storm, no prune)', async () => {
    const a = await w.api('POST', '/repo/hostile/update');
    assert.equal(a.status, 200, a.text);
    assert.equal(a.json.changed, false);
    const charts = a.json.charts as typeof result.charts;
    assert.equal(charts.filter((c) => c.action === 'failed').length, Object.keys(BAD).length);
    assert.equal(charts.filter((c) => c.action === 'pruned').length, 0);
  });
});

describe('a published chart turned hostile', () => {
  test('Chart.yaml replaced by a directory, or by invalid UTF-8: failed, and the published version is kept', async () => {
    const repo = await w.git.repos.create('turned', {
      ...chartFiles('a', 'a'),
      ...chartFiles('b', 'b'),
      ...chartFiles('c', 'c'),
    });
    const first = await w.api('POST', '/repo/new', { json: { name: 'turned', git: fileUrl(repo) } });
    assert.equal(first.status, 200, first.text);
    const entries = async () =>
      (parse((await w.api('GET', '/charts/turned/index.yaml', { token: null })).text) as { entries: unknown })
        .entries;
    const before = { files: await snapshot(join(w.storage, 'turned')), entries: await entries() };
    await repo.remove(['a/Chart.yaml']);
    await repo.write({ 'a/Chart.yaml/x': 'dir\n', 'b/Chart.yaml': Buffer.from([0xff, 0x0a]) });
    await repo.commit('turned hostile');
    await repo.push();
    const a = await w.api('POST', '/repo/turned/update');
    assert.equal(a.status, 200, a.text);
    const byName = Object.fromEntries((a.json.charts as typeof result.charts).map((c) => [c.name, c]));
    assert.equal(byName.a?.action, 'failed', a.text);
    assert.equal(byName.b?.action, 'failed', a.text);
    assert.equal(byName.c?.action, 'unchanged');
    const now = { files: await snapshot(join(w.storage, 'turned')), entries: await entries() };
    delete now.files['index.yaml']; // rewritten with a new `generated` time
    delete before.files['index.yaml'];
    assert.deepEqual(now, before, 'nothing pruned, no archive rewritten, the index lists the same');
  });
});
