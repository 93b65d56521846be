/**
 * Chart names and versions against the running sidecar: what cannot be stored or served fails
 * alone (InvalidChart, naming the name) while the rest publishes and the sync records its
 * commit; every odd name that is accepted round-trips through the real helm (`helm repo add`,
 * `helm pull`) from the sidecar's /charts/ routes; two charts whose archives share a file name
 * (`a` 1-1.0-x and `a-1` 1.0-x) never overwrite each other (NameCollision), and pruning one
 * never deletes the other's file.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { stringify } from 'yaml';
import { fileUrl } from '../harness/git-server.ts';
import { createHelm, type Helm } from '../harness/helm.ts';
import { chartFiles } from '../sidecar/fixtures.ts';
import { startWorld, type World } from './world.ts';

interface ChartResult {
  name: string;
  version: string;
  action: string;
  digest: string;
  error?: string;
  reason?: string;
}

/** A chart with exactly this name and version (YAML-quoted, so any string goes through). */
function chart(dir: string, name: string, version = '1.0.0'): Record<string, string> {
  return {
    ...chartFiles(dir, 'placeholder'),
    [`${dir}/Chart.yaml`]: stringify({ apiVersion: 'v2', name, version, type: 'application' }),
  };
}

const LONG_VERSION = `1.0.0-${'r'.repeat(245)}`; // valid SemVer, 251 characters
/** Names helm package takes but no chart repository can serve: each fails alone. */
const UNSERVABLE: [string, string][] = [
  ['.hidden', '1.0.0'],
  ['a'.repeat(240), '1.0.0'],
  ['long-version', LONG_VERSION],
  ['with space', '1.0.0'],
  ['ｆｕｌｌｗｉｄｔｈ', '1.0.0'],
  ['ελληνικά', '1.0.0'],
  ['-dash', '1.0.0'],
  ['_under', '1.0.0'],
  ['%2e%2e', '1.0.0'],
  ['back\\slash', '1.0.0'],
  ['colon:x', '1.0.0'],
  ['tilde~x', '1.0.0'],
  ['plus+x', '1.0.0'],
];
/** Odd but valid: published and served. The longest makes a 232-byte archive file name. */
const LONGEST = `l${'o'.repeat(232 - '-1.0.0.tgz'.length - 1)}`;
const SERVABLE: [string, string][] = [
  ['A', '1.0.0'],
  ['UPPER.Case_mix-9', '2.0.0-rc.1+build.7'],
  ['x.', '0.1.0'],
  ['a..b', '1.0.0'],
  ['9lives', '1.0.0+meta'],
  ['index', '1.0.0'],
  // names every JavaScript object inherits: an index keyed by chart name must not find Object's
  ['constructor', '1.0.0'],
  ['hasOwnProperty', '1.0.0'],
  ['toString', '1.0.0'],
  [LONGEST, '1.0.0'],
];

let w: World;
let helm: Helm;

before(async () => {
  w = await startWorld({ args: ['--allow-local-git'] });
  helm = await createHelm();
});
after(async () => {
  await w?.stop();
  await helm?.cleanup();
});

describe('names that cannot be served fail alone, the rest publishes', () => {
  let a: { status: number; json: Record<string, unknown>; text: string };
  let charts: ChartResult[];
  let head: string;
  before(async () => {
    const files: Record<string, string> = {};
    for (const [i, [name, version]] of UNSERVABLE.entries())
      Object.assign(files, chart(`bad/${i}`, name, version));
    for (const [i, [name, version]] of SERVABLE.entries())
      Object.assign(files, chart(`good/${i}`, name, version));
    const repo = await w.git.repos.create('names', files);
    head = await repo.head();
    a = await w.api('POST', '/repo/new', { json: { name: 'names', git: fileUrl(repo) } });
    charts = (a.json.charts ?? []) as ChartResult[];
  });

  test('the sync answers 200 and records the commit', async () => {
    assert.equal(a.status, 200, a.text);
    assert.equal(a.json.commit, head);
    const view = await w.api('GET', '/repo/names');
    assert.equal((view.json.lastSync as { commit?: string } | undefined)?.commit, head, view.text);
  });

  for (const [name, version] of UNSERVABLE) {
    test(`${JSON.stringify(name.length > 30 ? `${name.slice(0, 20)}…(${name.length})` : name)} ${version.length > 20 ? `(version of ${version.length})` : version}: failed, InvalidChart, message naming it`, () => {
      const hit = charts.find((c) => c.name === name);
      assert.ok(hit, JSON.stringify(charts.map((c) => c.name)));
      assert.equal(hit.action, 'failed');
      assert.equal(hit.reason, 'InvalidChart');
      assert.ok(hit.error?.includes(JSON.stringify(name)), hit.error);
    });
  }

  test('every accepted odd name round-trips through helm repo add + helm pull from /charts/', async () => {
    assert.deepEqual(
      charts
        .filter((c) => c.action === 'published')
        .map((c) => c.name)
        .sort(),
      SERVABLE.map(([n]) => n).sort(),
    );
    await helm.addRepo('names', `${w.sidecar.url}/charts/names`);
    const dest = join(helm.home, 'pulled');
    await mkdir(dest, { recursive: true });
    for (const [name, version] of SERVABLE) {
      const file = await helm.pull(`names/${name}`, version, dest);
      const published = charts.find((c) => c.name === name);
      assert.equal(
        createHash('sha256')
          .update(await readFile(file))
          .digest('hex'),
        published?.digest,
        name,
      );
    }
  });
});

describe('archive file name collisions', () => {
  test('in one sync: the later chart fails with NameCollision, the first keeps its file', async () => {
    const repo = await w.git.repos.create('collide', {
      ...chart('charts/a', 'a', '1-1.0-x'),
      ...chart('charts/b', 'a-1', '1.0-x'),
      ...chart('charts/c', 'Case', '1.0.0'),
      ...chart('charts/d', 'case', '1.0.0'),
    });
    const a = await w.api('POST', '/repo/new', { json: { name: 'collide', git: fileUrl(repo) } });
    assert.equal(a.status, 200, a.text);
    const by = Object.fromEntries((a.json.charts as ChartResult[]).map((c) => [`${c.name}@${c.version}`, c]));
    assert.equal(by['a@1-1.0-x']?.action, 'published');
    assert.equal(by['a-1@1.0-x']?.action, 'failed');
    assert.equal(by['a-1@1.0-x']?.reason, 'NameCollision');
    assert.match(by['a-1@1.0-x']?.error ?? '', /a-1-1\.0-x\.tgz.*a 1-1\.0-x/);
    assert.equal(by['Case@1.0.0']?.action, 'published');
    assert.equal(by['case@1.0.0']?.reason, 'NameCollision', 'names differing only in case collide');
    const file = await readFile(join(w.storage, 'collide/a-1-1.0-x.tgz'));
    assert.equal(createHash('sha256').update(file).digest('hex'), by['a@1-1.0-x']?.digest);
  });

  test('across syncs: a published archive is never overwritten, and pruning it leaves no dangling entry', async () => {
    const repo = await w.git.repos.create('collide2', chart('charts/z', 'a-1', '1.0-x'));
    const first = await w.api('POST', '/repo/new', { json: { name: 'collide2', git: fileUrl(repo) } });
    assert.equal(first.status, 200, first.text);
    const path = join(w.storage, 'collide2/a-1-1.0-x.tgz');
    const original = await readFile(path);

    await repo.write(chart('charts/a', 'a', '1-1.0-x'));
    await repo.commit('a chart whose archive name is taken');
    await repo.push();
    const second = await w.api('POST', '/repo/collide2/update');
    assert.equal(second.status, 200, second.text);
    const a2 = (second.json.charts as ChartResult[]).find((c) => c.name === 'a');
    assert.equal(a2?.action, 'failed');
    assert.equal(a2?.reason, 'NameCollision');
    assert.ok((await readFile(path)).equals(original), 'the published archive is untouched');

    // The holder leaves git: it is pruned (its own file), and the newcomer publishes next.
    await repo.remove(['charts/z']);
    await repo.commit('remove a-1');
    await repo.push();
    const third = await w.api('POST', '/repo/collide2/update');
    assert.equal(third.status, 200, third.text);
    const fourth = await w.api('POST', '/repo/collide2/update');
    assert.equal(fourth.status, 200, fourth.text);
    const all = [...(third.json.charts as ChartResult[]), ...(fourth.json.charts as ChartResult[])];
    assert.ok(
      all.some((c) => c.name === 'a-1' && c.action === 'pruned'),
      JSON.stringify(all),
    );
    const a4 = (fourth.json.charts as ChartResult[]).find((c) => c.name === 'a');
    assert.ok(a4 && ['published', 'unchanged'].includes(a4.action), JSON.stringify(fourth.json.charts));
    const index = await w.api('GET', '/charts/collide2/index.yaml', { token: null });
    assert.doesNotMatch(index.text, /name: a-1\n/);
    assert.equal(
      createHash('sha256')
        .update(await readFile(path))
        .digest('hex'),
      a4?.digest,
    );
  });
});

describe('chart directories named like the properties of every object', () => {
  test('"__proto__" and "constructor" keep their sync state: a no-change update still reports them', async () => {
    const repo = await w.git.repos.create('protodirs', {
      ...chartFiles('__proto__', 'proto'),
      ...chartFiles('constructor', 'ctor'),
      ...chartFiles('plain', 'plain'),
    });
    const first = await w.api('POST', '/repo/new', { json: { name: 'protodirs', git: fileUrl(repo) } });
    assert.equal(first.status, 200, first.text);
    const names = (a: { json: Record<string, unknown> }) =>
      (a.json.charts as ChartResult[]).map((c) => `${c.name}:${c.action}`).sort();
    assert.deepEqual(names(first), ['ctor:published', 'plain:published', 'proto:published']);
    const again = await w.api('POST', '/repo/protodirs/update');
    assert.equal(again.status, 200, again.text);
    assert.deepEqual(names(again), ['ctor:unchanged', 'plain:unchanged', 'proto:unchanged']);
  });
});
