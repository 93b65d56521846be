/**
 * Tenant boundary of the chart engine: two registrations on one running sidecar. The victim's
 * private chart sits in its clone under the data dir; the attacker commits symbolic links (to
 * `/`, to `../victim`, to files of the victim's chart) and `..` paths, and tries every route the
 * engine reads through: `paths` entries, chart discovery, a chart directory, Chart.yaml,
 * .helmignore and template files, `file://` dependencies. None may publish (or name) the
 * victim's chart: a `paths` entry that escapes answers 400, a chart that reaches out fails
 * alone with reason PathEscapesCheckout, and the attacker's good chart still publishes.
 */
import assert from 'node:assert/strict';
import { rm, symlink } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse } from 'yaml';
import { fileUrl } from '../harness/git-server.ts';
import { chartFiles } from '../sidecar/fixtures.ts';
import {
  assertError,
  type ChartResult,
  filesContaining,
  published,
  snapshot,
  startWorld,
  type World,
} from './world.ts';

const MARKER = 'VICTIM-PRIVATE-7c1f0e';
const SECRET_NAME = 'victim-private';

let w: World;
let victimClone: string;

/** The attacker's published index entries (names), [] when nothing was published. */
async function attackerIndex(repo: string): Promise<string[]> {
  const a = await w.api('GET', `/charts/${repo}/index.yaml`, { token: null });
  if (a.status !== 200) return [];
  return Object.keys((parse(a.text) as { entries?: Record<string, unknown> }).entries ?? {});
}

/** Nothing of the victim's chart is in storage outside the victim's own repo dir. */
async function assertNoLeak(): Promise<void> {
  const hits = (await filesContaining(w.storage, MARKER)).filter((f) => !f.startsWith('victim/'));
  assert.deepEqual(hits, [], 'no archive outside the victim repo holds the private content');
  const names = Object.keys(await snapshot(w.storage)).filter(
    (f) => f.includes(SECRET_NAME) && !f.startsWith('victim/'),
  );
  assert.deepEqual(names, []);
}

before(async () => {
  w = await startWorld({ args: ['--allow-local-git'] });
  const victim = await w.git.repos.create('victim', {
    ...chartFiles('charts/private', SECRET_NAME),
    'charts/private/templates/secret.yaml': `apiVersion: v1\nkind: Secret\nstringData:\n  token: ${MARKER}\n`,
  });
  const v = await w.api('POST', '/repo/new', { json: { name: 'victim', git: fileUrl(victim) } });
  assert.equal(v.status, 200, v.text);
  assert.deepEqual(await attackerIndex('victim'), [SECRET_NAME]);
  victimClone = join(w.data, 'clones/victim');
});
after(async () => {
  await w?.stop();
});

describe('paths entries cannot walk out of the checkout', () => {
  let repo: Awaited<ReturnType<World['git']['repos']['create']>>;
  before(async () => {
    repo = await w.git.repos.create('attacker-paths', {
      ...chartFiles('charts/own', 'own'),
      ...chartFiles('real/inside', 'inside'),
    });
    await symlink('/', join(repo.work, 'esc'));
    await symlink('..', join(repo.work, 'up'));
    await symlink('real', join(repo.work, 'alias'));
    await repo.commit('links');
    await repo.push();
  });

  const escapes: [string, () => string][] = [
    ['a link to / then the victim clone', () => `esc${victimClone}/charts`],
    ['a link to .. then the victim clone', () => 'up/victim/charts'],
    ['a link to .. straight to the clone', () => 'up/victim'],
    ['a link to / and back down with ..', () => `esc${victimClone}/charts/../charts/private`],
  ];
  for (const [what, path] of escapes) {
    test(`${what}: 400 naming the path, nothing published`, async () => {
      const a = await w.api('POST', '/repo/new', {
        json: { name: 'attacker-paths', git: fileUrl(repo), paths: [path()] },
      });
      assert.equal(a.status, 400, a.text);
      assert.match(String(a.json.message), /leaves the repository/);
      assert.equal(a.json.reason, 'PathEscapesCheckout');
      assert.deepEqual(await attackerIndex('attacker-paths'), []);
      await assertNoLeak();
    });
  }

  test('a link that stays inside the checkout is followed to the real directory', async () => {
    const a = await w.api('POST', '/repo/new', {
      json: { name: 'attacker-paths', git: fileUrl(repo), paths: ['alias', 'charts'] },
    });
    assert.equal(a.status, 200, a.text);
    const charts = a.json.charts as ChartResult[];
    assert.deepEqual(charts.map((c) => `${c.name}:${c.action}`).sort(), [
      'inside:published',
      'own:published',
    ]);
  });
});

describe('charts cannot reach into the victim through links or file:// dependencies', () => {
  let result: ChartResult[];
  before(async () => {
    // The attacker clone is <data>/clones/attacker: `../victim` from its root is the victim clone.
    const repo = await w.git.repos.create('attacker', {
      ...chartFiles('charts/good', 'good'),
      // file:// with plain .. beyond the checkout
      ...chartFiles('charts/dep-dotdot', 'dep-dotdot', {
        dependencies: [
          { name: SECRET_NAME, version: '1.0.0', repository: 'file://../../../victim/charts/private' },
        ],
      }),
      // file:// through a committed link that leads out
      ...chartFiles('charts/dep-link', 'dep-link', {
        dependencies: [{ name: SECRET_NAME, version: '1.0.0', repository: 'file://../vlink/private' }],
      }),
      // a template, .helmignore and a subchart directory that are links to the victim's chart
      ...chartFiles('charts/tpl-link', 'tpl-link'),
      ...chartFiles('charts/ignore-link', 'ignore-link'),
      ...chartFiles('charts/sub-link', 'sub-link'),
      'charts/sub-link/charts/.keep': '',
      'charts/yaml-link/values.yaml': 'a: 1\n',
    });
    const link = (target: string, at: string) => symlink(target, join(repo.work, at));
    await link('../../victim/charts', 'charts/vlink');
    await link('../../victim/charts/private', 'charts/stolen');
    await link('../../../victim/charts/private/Chart.yaml', 'charts/yaml-link/Chart.yaml');
    await link('../../../../victim/charts/private/templates/secret.yaml', 'charts/tpl-link/templates/s.yaml');
    await link('../../../victim/charts/private/templates/secret.yaml', 'charts/ignore-link/.helmignore');
    await link(`${victimClone}/charts/private`, 'charts/sub-link/charts/private');
    await link(victimClone, 'victim-abs');
    await repo.commit('hostile links');
    await repo.push();
    const a = await w.api('POST', '/repo/new', { json: { name: 'attacker', git: fileUrl(repo) } });
    assert.equal(a.status, 200, a.text);
    result = a.json.charts as ChartResult[];
  });

  const ESCAPES: Record<string, RegExp> = {
    'dep-dotdot': /file:\/\/\.\.\/\.\.\/\.\.\/victim\/charts\/private.* resolves outside the repository/,
    'dep-link': /file:\/\/\.\.\/vlink\/private.* resolves outside the repository/,
    'tpl-link': /templates\/s\.yaml: symbolic link points outside the chart directory/,
    'ignore-link': /\.helmignore: symbolic link points outside the chart directory/,
    'sub-link': /charts\/private: symbolic link points outside the chart directory/,
    'charts/yaml-link': /Chart\.yaml: symbolic link points outside the chart directory/,
  };

  test('the good chart is published and nothing else', async () => {
    assert.deepEqual(
      result.filter((c) => c.action === 'published').map((c) => c.name),
      ['good'],
      JSON.stringify(result, null, 1),
    );
    assert.deepEqual(await attackerIndex('attacker'), ['good']);
  });

  for (const [chart, re] of Object.entries(ESCAPES)) {
    test(`${chart}: failed alone, PathEscapesCheckout`, () => {
      const hit = result.find((c) => c.name === chart);
      assert.ok(hit, `${chart} reported: ${JSON.stringify(result, null, 1)}`);
      assert.equal(hit.action, 'failed');
      assert.match(hit.error ?? '', re);
      assert.equal(hit.reason, 'PathEscapesCheckout');
    });
  }

  test('symlinked chart directories are not discovered, and no result names the victim chart', async () => {
    assert.equal(result.length, 1 + Object.keys(ESCAPES).length, JSON.stringify(result, null, 1));
    assert.ok(
      result.every((c) => c.name !== SECRET_NAME),
      'the linked Chart.yaml does not lend its name',
    );
    assert.ok(
      !JSON.stringify(result).includes(w.data),
      `no host path in the results: ${JSON.stringify(result, null, 1)}`,
    );
    await assertNoLeak();
  });

  test('the victim is unchanged', async () => {
    assert.deepEqual(await attackerIndex('victim'), [SECRET_NAME]);
  });
});

describe("--allow-local-git does not reach another registration's clone", () => {
  // Each named the victim's clone (a git repository on the sidecar's disk) or climbed to it.
  const urls = (): [string, string][] => [
    ['its path', victimClone],
    ['a file:// URL', `file://${victimClone}`],
    ['percent-encoded', `file://${victimClone.replace('/clones/', '/%63lones/')}`],
    ['with ..', `${w.data}/clones/../clones/victim`],
    ['the data dir itself', w.data],
    ['a relative path (git runs in the clone dir)', '../victim'],
    ['file://localhost', `file://localhost${victimClone}`],
  ];
  test('registering it answers 400 naming why; nothing is registered or published', async () => {
    const storage = await published(w);
    for (const [what, git] of urls()) {
      const a = await w.api('POST', '/repo/new', { json: { name: 'thief', git } });
      assertError(a, 400, 'invalid_input', /absolute path|three slashes|data or storage directory/);
      assert.equal((await w.api('GET', '/repo/thief')).status, 404, `${what}: not registered`);
    }
    assert.deepEqual(await published(w), storage);
    await assertNoLeak();
  });

  test('the ways git itself reaches a repository: a link then .., the .git suffix it tries, a .git file, alternates', async () => {
    const { mkdir, writeFile } = await import('node:fs/promises');
    const { execFileSync } = await import('node:child_process');
    const base = join(w.root, 'ways');
    await mkdir(base, { recursive: true });
    // lnk/.. is the parent of lnk's target (the victim's clone), not `ways`
    await symlink(join(victimClone, 'charts'), join(base, 'lnk'));
    // git tries <path>.git when <path> does not exist
    await symlink(victimClone, join(base, 'probe.git'));
    // a work tree whose .git file names the victim's git dir
    await mkdir(join(base, 'gitfile'));
    await writeFile(join(base, 'gitfile', '.git'), `gitdir: ${join(victimClone, '.git')}\n`);
    // a bare repository borrowing the victim's objects, its HEAD at the victim's commit
    const borrow = join(base, 'borrow.git');
    execFileSync('git', ['init', '-q', '--bare', borrow]);
    await writeFile(join(borrow, 'objects/info/alternates'), `${join(victimClone, '.git/objects')}\n`);
    const victimHead = execFileSync('git', ['-C', victimClone, 'rev-parse', 'HEAD']).toString().trim();
    execFileSync('git', ['-C', borrow, 'update-ref', 'refs/heads/master', victimHead]);
    execFileSync('git', ['-C', borrow, 'symbolic-ref', 'HEAD', 'refs/heads/master']);
    // a bare repository whose objects/ and refs/ are links into the victim's git dir
    const linked = join(base, 'linked.git');
    await mkdir(linked);
    await writeFile(join(linked, 'config'), '[core]\n\trepositoryformatversion = 0\n\tbare = true\n');
    await writeFile(join(linked, 'HEAD'), 'ref: refs/heads/master\n');
    await symlink(join(victimClone, '.git/objects'), join(linked, 'objects'));
    await symlink(join(victimClone, '.git/refs'), join(linked, 'refs'));
    // only a pack file linked (objects/ itself is the repository's own)
    const packLinked = join(base, 'pack-linked.git');
    execFileSync('git', ['init', '-q', '--bare', packLinked]);
    const packDir = join(victimClone, '.git/objects/pack');
    const { readdir } = await import('node:fs/promises');
    for (const f of await readdir(packDir))
      await symlink(join(packDir, f), join(packLinked, 'objects/pack', f));
    execFileSync('git', ['-C', packLinked, 'update-ref', 'refs/heads/master', victimHead]);
    // .git is a link to a file whose relative gitdir is taken from the link's directory
    await mkdir(join(base, 'relgit'));
    await mkdir(join(base, 'elsewhere/deeper'), { recursive: true });
    const rel = `${relative(join(base, 'relgit'), join(victimClone, '.git'))}`;
    await writeFile(join(base, 'elsewhere/deeper/gf'), `gitdir: ${rel}\n`);
    await symlink(join(base, 'elsewhere/deeper/gf'), join(base, 'relgit', '.git'));
    const storage = await published(w);
    for (const git of [
      `file://${linked}`,
      `file://${packLinked}`,
      join(base, 'relgit'),
      `${join(base, 'lnk')}/..`,
      `file://${join(base, 'lnk')}/..`,
      `file://${join(base, 'lnk')}%2F..`,
      join(base, 'probe'),
      `file://${join(base, 'probe')}`,
      join(base, 'gitfile'),
      `file://${borrow}`,
    ]) {
      const a = await w.api('POST', '/repo/new', { json: { name: 'thief', git } });
      assertError(a, 400, 'invalid_input', /data or storage directory/);
      assert.equal((await w.api('GET', '/repo/thief')).status, 404, `${git}: not registered`);
    }
    assert.deepEqual(await published(w), storage);
    await assertNoLeak();
  });

  test('through a symbolic link: refused at registration, and at the next sync when the link is swapped later', async () => {
    const own = await w.git.repos.create('thief-own', chartFiles('charts/own', 'thief-own'));
    const link = join(w.root, 'innocent.git');
    await symlink(victimClone, link);
    const direct = await w.api('POST', '/repo/new', { json: { name: 'thief', git: link } });
    assertError(direct, 400, 'invalid_input', /links, .git files and alternates followed/);
    // a link to the thief's own repository registers and publishes ...
    await rm(link);
    await symlink(own.bare, link);
    const ok = await w.api('POST', '/repo/new', { json: { name: 'thief', git: `file://${link}` } });
    assert.equal(ok.status, 200, ok.text);
    assert.deepEqual(await attackerIndex('thief'), ['thief-own']);
    // ... then is pointed at the victim's clone: the update is refused before git runs
    await rm(link);
    await symlink(victimClone, link);
    const update = await w.api('POST', '/repo/thief/update');
    assertError(update, 400, 'invalid_input', /links, .git files and alternates followed/);
    assert.deepEqual(await attackerIndex('thief'), ['thief-own'], 'what was published stays');
    await assertNoLeak();
    assert.deepEqual(await attackerIndex('victim'), [SECRET_NAME]);
  });
});
