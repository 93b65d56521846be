/**
 * File and directory names that are not UTF-8 (git and helm take any bytes) in a repository
 * synced through the running sidecar. A directory so named is no chart location the API can
 * name: it is skipped, at any depth, and the sync goes on. A chart that would package such a
 * file fails alone, naming the file in the chart with the bytes as `\xNN`; what `.helmignore`
 * ignores is ignored. No answer, state or log line shows a host path.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { listArchive } from '@chartsync/sidecar';
import { parse } from 'yaml';
import { writeByteTree } from '../harness/chart-fixtures.ts';
import type { FixtureRepo } from '../harness/git/repo.ts';
import { fileUrl } from '../harness/git-server.ts';
import { chartFiles } from '../sidecar/fixtures.ts';
import { type Answer, type ChartResult, startWorld, type World } from './world.ts';

const cy = (name: string, version = '1.0.0', extra = '') =>
  `apiVersion: v2\nname: ${name}\nversion: ${version}\n${extra}`;
const withSub = 'dependencies:\n- name: sub\n  version: 0.1.0\n';

/** Good charts that must publish, whatever is around them. */
const GOOD = ['good', 'globbed', 'literal', 'ignoreddir', 'vendored'];

let w: World;
let repo: FixtureRepo;
let first: Answer;
let charts: ChartResult[];

/** No host path, no U+FFFD, no raw errno text in what the sidecar answers, stores or logs. */
function assertClean(text: string, what: string): void {
  assert.ok(!text.includes(w.root), `${what} shows a host path: ${text}`);
  assert.doesNotMatch(text, /\uFFFD|ENOENT|scandir|lstat/, what);
}

before(async () => {
  w = await startWorld({ args: ['--allow-local-git'] });
  repo = await w.git.repos.create('odd', chartFiles('charts/good', 'good'));
  writeByteTree(repo.work, {
    // directories not named in UTF-8, at several depths, inside and outside charts/
    'docs/\xff/readme.txt': 'x\n',
    '\xfe/hidden/Chart.yaml': cy('hidden'),
    'charts/\xfd/Chart.yaml': cy('unnameable'),
    'charts/\xfc/nested/Chart.yaml': cy('below'),
    'a/b/c/\xc3\x28/d/readme.txt': 'x\n',
    // charts holding such names
    'charts/bad/Chart.yaml': cy('bad'),
    'charts/bad/templates/\xff.txt': 'x\n',
    'charts/badsub/Chart.yaml': cy('badsub', '1.0.0', withSub),
    'charts/badsub/charts/sub/Chart.yaml': cy('sub', '0.1.0'),
    'charts/badsub/charts/sub/files/\xfe\xff/a.txt': 'x\n',
    'charts/globbed/Chart.yaml': cy('globbed'),
    'charts/globbed/.helmignore': '*.txt\n',
    'charts/globbed/templates/\xff.txt': 'x\n',
    'charts/literal/Chart.yaml': cy('literal'),
    'charts/literal/.helmignore': Buffer.from('templates/\xff.txt\n', 'latin1'),
    'charts/literal/templates/\xff.txt': 'x\n',
    'charts/ignoreddir/Chart.yaml': cy('ignoreddir'),
    'charts/ignoreddir/.helmignore': '*.bak\n',
    'charts/ignoreddir/files/\xfe/x.bak': 'x\n',
    'charts/vendored/Chart.yaml': cy('vendored', '1.0.0', withSub),
    'charts/vendored/charts/\xfe/Chart.yaml': cy('sub', '0.1.0'),
  });
  await repo.commit('names that are not UTF-8');
  await repo.push();
  first = await w.api('POST', '/repo/new', { json: { name: 'odd', git: fileUrl(repo) } });
  charts = (first.json?.charts ?? []) as ChartResult[];
});
after(async () => {
  await w?.stop();
});

describe('directories not named in UTF-8', () => {
  test('the sync answers 200, and the good charts publish', async () => {
    assert.equal(first.status, 200, first.text);
    assertClean(first.text, 'the sync answer');
    const published = charts.filter((c) => c.action === 'published').map((c) => c.name);
    assert.deepEqual(published.sort(), [...GOOD].sort(), first.text);
    const index = parse((await w.api('GET', '/charts/odd/index.yaml', { token: null })).text) as {
      entries: Record<string, unknown>;
    };
    assert.deepEqual(Object.keys(index.entries).sort(), [...GOOD].sort());
  });

  test('charts below them are not discovered (no result names them); the skip is logged checkout-relative', () => {
    for (const name of ['hidden', 'unnameable', 'below'])
      assert.ok(!charts.some((c) => c.name === name), `${name}: ${first.text}`);
    const skips = w.sidecar.logs.filter((l) => l.includes('not valid UTF-8; not looked into'));
    const dirs = skips.map((l) => (JSON.parse(l) as { dir: string }).dir).sort();
    assert.deepEqual(dirs, ['\\xfe', 'a/b/c/\\xc3(', 'charts/\\xfc', 'charts/\\xfd', 'docs/\\xff']);
    for (const line of w.sidecar.logs) {
      assert.ok(!line.includes(join(w.data, 'clones')), `a log line shows the checkout's host path: ${line}`);
      assert.doesNotMatch(line, /\uFFFD|ENOENT|scandir|lstat/);
    }
  });

  test('the registration shows no host path', async () => {
    const view = await w.api('GET', '/repo/odd');
    assert.equal(view.status, 200, view.text);
    assertClean(view.text, 'GET /repo/odd');
  });

  test('a push adding another such directory does not block later updates', async () => {
    writeByteTree(repo.work, {
      'more/\xfb\xfa/deeper/x.txt': 'x\n',
      'charts/good/Chart.yaml': cy('good', '1.1.0'),
    });
    await repo.commit('more odd names, good 1.1.0');
    await repo.push();
    const a = await w.api('POST', '/repo/odd/update');
    assert.equal(a.status, 200, a.text);
    assertClean(a.text, 'the update answer');
    const good = (a.json.charts as ChartResult[]).find((c) => c.name === 'good');
    assert.equal(good?.version, '1.1.0', a.text);
    assert.equal(good?.action, 'published', a.text);
  });
});

describe('files not named in UTF-8 inside a chart', () => {
  test('a chart that would package one fails alone, InvalidChart, naming the file in the chart', () => {
    const failed = charts.filter((c) => c.action === 'failed');
    assert.deepEqual(failed.map((c) => c.name).sort(), ['bad', 'badsub'], first.text);
    const bad = failed.find((c) => c.name === 'bad');
    assert.equal(bad?.reason, 'InvalidChart');
    assert.match(bad?.error ?? '', /^chart bad: templates\/\\xff\.txt: file name is not valid UTF-8/);
    const sub = failed.find((c) => c.name === 'badsub');
    assert.equal(sub?.reason, 'InvalidChart');
    assert.match(sub?.error ?? '', /charts\/sub\/files\/\\xfe\\xff\/a\.txt: file name is not valid UTF-8/);
  });

  test('names .helmignore ignores are ignored, and a vendored subchart dir is packaged under its name', async () => {
    const list = async (c: string) =>
      [...listArchive(await readFile(join(w.storage, 'odd', `${c}-1.0.0.tgz`))).keys()].sort();
    assert.deepEqual(await list('vendored'), [
      'vendored/Chart.lock',
      'vendored/Chart.yaml',
      'vendored/charts/sub/Chart.yaml',
    ]);
    assert.deepEqual(await list('literal'), ['literal/.helmignore', 'literal/Chart.yaml']);
    assert.deepEqual(await list('ignoreddir'), ['ignoreddir/.helmignore', 'ignoreddir/Chart.yaml']);
  });
});
