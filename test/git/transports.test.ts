/**
 * Checkouts over every transport the sidecar supports, against real servers: a fresh shallow
 * checkout of HEAD, a branch, an annotated tag, a full and a short commit id; updates that add,
 * change and delete files; force-pushed history; failures that leave the last checkout intact.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import tty from 'node:tty';
import {
  type CheckoutOptions,
  type CheckoutResult,
  type GitAuth,
  GitError,
  headCommit,
  MAX_PACKS,
  parseCommit,
  parseIndexTrees,
  pickTrees,
  readCommitInfo,
  readIndexTrees,
  remoteHead,
  remoteTip,
  runGit,
  syncCheckout,
  treeIds,
  withGitSession,
} from '@chartsync/sidecar/git';
import { createLogger } from '@chartsync/sidecar/log';
import {
  type FixtureRepo,
  fileUrl,
  fixtureGit,
  type GitServers,
  loggedGitCommands,
  startGitServers,
  startHttpGitServer,
} from '../harness/git-server.ts';

const policy = { allowLocal: true, allowInsecure: true };
const D1 = new Date('2024-03-01T10:00:00Z');
const D2 = new Date('2024-03-02T10:00:00Z');
const D3 = new Date('2024-03-03T10:00:00Z');
const commitOf = (r: { commit: string; commitTime: Date }) => ({
  commit: r.commit,
  commitTime: r.commitTime,
});

/** A checkout with the git commands it ran (logged at debug level), in the order they finished. */
async function checkoutLogged(o: CheckoutOptions): Promise<{ result: CheckoutResult; git: string[] }> {
  const out = new PassThrough();
  let text = '';
  out.on('data', (d) => (text += d));
  const log = createLogger({ level: 'debug', pretty: false, destination: out });
  const result = await syncCheckout({ ...o, log });
  await new Promise((r) => setImmediate(r));
  const records = text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { result, git: loggedGitCommands(records) };
}

interface Transport {
  name: string;
  url: (repo: FixtureRepo) => string;
  auth?: () => GitAuth;
}

let servers: GitServers;
before(async () => {
  servers = await startGitServers({ daemon: true, http: true, ssh: true });
});
after(async () => {
  await servers?.stop();
});

const transports: Transport[] = [
  { name: 'file://', url: fileUrl },
  { name: 'git:// (git daemon)', url: (r) => servers.daemon?.url(r.name) ?? '' },
  { name: 'smart HTTP (git http-backend)', url: (r) => servers.http?.url(r.name) ?? '' },
  {
    name: 'ssh:// (sshd)',
    url: (r) => servers.ssh?.url(r.bare) ?? '',
    auth: () => ({ sshKey: servers.ssh?.clientKey, knownHosts: servers.ssh?.knownHosts }),
  },
];

for (const t of transports) {
  describe(`git over ${t.name}`, () => {
    let repo: FixtureRepo;
    let c1: string;
    let dev: string;
    const opts = (dir: string, ref?: string) => ({
      url: t.url(repo),
      ref,
      policy,
      dir: join(servers.dir, 'co', dir),
      auth: t.auth?.(),
    });

    before(async () => {
      repo = await servers.repos.create(`r-${t.name.replace(/\W+/g, '-')}`, {
        'charts/a/Chart.yaml': 'name: a\nversion: 1.0.0\n',
        'charts/b/Chart.yaml': 'name: b\nversion: 1.0.0\n',
      });
      await repo.write({ 'README.md': 'hello\n' });
      c1 = await repo.commit('c1', D1);
      await repo.push();
      await repo.tag('v1', { annotated: true });
      await repo.checkoutBranch('dev', { create: true });
      await repo.write({ 'dev.txt': 'dev\n' });
      dev = await repo.commit('dev', D2);
      await repo.push({ refspec: 'HEAD:refs/heads/dev' });
      await repo.checkoutBranch('main');
    });

    test('remoteHead resolves HEAD, a branch, an annotated tag and a commit id; an unknown ref is a ref error', async () => {
      const o = opts('unused');
      assert.equal(await remoteHead(o), c1);
      assert.equal(await remoteHead({ ...o, ref: 'main' }), c1);
      assert.equal(await remoteHead({ ...o, ref: 'dev' }), dev);
      assert.equal(await remoteHead({ ...o, ref: 'v1' }), c1);
      assert.equal(await remoteHead({ ...o, ref: 'refs/heads/dev' }), dev);
      assert.equal(await remoteHead({ ...o, ref: c1 }), c1);
      await assert.rejects(
        remoteHead({ ...o, ref: 'no-such-branch' }),
        (e: unknown) => e instanceof GitError && e.kind === 'ref' && /no-such-branch/.test(e.message),
      );
    });

    test('fresh checkouts of HEAD, a branch, a tag, a full and a short commit id, with the commit time', async () => {
      const head = await syncCheckout(opts('head'));
      assert.deepEqual(commitOf(head), { commit: c1, commitTime: D1 });
      assert.equal(
        await readFile(join(opts('head').dir, 'charts/a/Chart.yaml'), 'utf8'),
        'name: a\nversion: 1.0.0\n',
      );
      assert.equal((await syncCheckout(opts('branch', 'dev'))).commit, dev);
      assert.ok(existsSync(join(opts('branch').dir, 'dev.txt')));
      assert.equal((await syncCheckout(opts('tag', 'v1'))).commit, c1);
      assert.equal((await syncCheckout(opts('sha', c1))).commit, c1);
      assert.equal((await syncCheckout(opts('short', c1.slice(0, 9)))).commit, c1);
      assert.equal((await syncCheckout(opts('short-upper', c1.slice(0, 9).toUpperCase()))).commit, c1);
      assert.ok(!existsSync(join(opts('sha').dir, 'dev.txt')));
    });

    test('a first checkout of HEAD or a branch from its tip is one clone and the tree listing, the same checkout as the fetch path; a tag keeps that path', async () => {
      for (const ref of [undefined, 'dev', 'refs/heads/dev']) {
        // (directories of their own: the other tests share theirs between transports)
        const name = `tip-${t.name}-${ref ?? 'HEAD'}`.replace(/\W+/g, '-');
        const tip = await remoteTip(opts('unused', ref));
        assert.equal(tip.commit, ref ? dev : c1);
        const cloned = await checkoutLogged({ ...opts(name, tip.commit), tip });
        // (the directories' tree ids come from the index the clone wrote: no ls-tree)
        assert.deepEqual(cloned.git, ['clone'], `${ref}: ${cloned.git.join(', ')}`);
        const fetched = await syncCheckout(opts(`${name}-fetched`, tip.commit));
        assert.deepEqual(commitOf(cloned.result), commitOf(fetched));
        assert.deepEqual(cloned.result.trees, fetched.trees);
        const { dir } = opts(name);
        assert.deepEqual(await treeIds(dir, ['']), await treeIds(opts(`${name}-fetched`).dir, ['']));
        assert.equal(existsSync(join(dir, 'dev.txt')), ref !== undefined);
        assert.equal(await headCommit(join(dir, '.git')), tip.commit);
        assert.equal(await fixtureGit(['status', '--porcelain'], dir), '', 'a clean work tree at the tip');
        // No template directory copied, by either path: no hooks, not even the samples.
        for (const d of [dir, opts(`${name}-fetched`).dir])
          assert.ok(!existsSync(join(d, '.git', 'hooks')), `${d}: .git/hooks`);
      }
      // Without a tip: HEAD and a full branch name are cloned as named; a short name is
      // resolved first (it could be a tag), as is any ref clone cannot name exactly.
      for (const [ref, git] of [
        [undefined, ['clone']],
        ['refs/heads/dev', ['clone']],
        ['dev', ['init', 'ls-remote']],
      ] as const) {
        const name = `untipped-${t.name}-${ref ?? 'HEAD'}`.replace(/\W+/g, '-');
        const first = await checkoutLogged(opts(name, ref));
        assert.deepEqual(first.git.slice(0, 2), git, `${ref}: ${first.git.join(', ')}`);
        assert.equal(first.result.commit, ref ? dev : c1);
      }
      const tag = await remoteTip(opts('unused', 'v1'));
      assert.equal(tag.name, 'refs/tags/v1');
      const tagged = await checkoutLogged({
        ...opts(`tip-tag-${t.name}`.replace(/\W+/g, '-'), tag.commit),
        tip: tag,
      });
      assert.ok(!tagged.git.includes('clone'), tagged.git.join(', '));
      assert.equal(tagged.result.commit, c1);
    });

    test('an update follows added, changed and deleted files, and removes stray files', async () => {
      const o = opts('update');
      await syncCheckout(o);
      const before = await treeIds(o.dir, ['charts/a', 'charts/b']);
      assert.equal(before.size, 2);
      await writeFile(join(o.dir, 'stray.txt'), 'not from git\n');
      await repo.write({
        'charts/a/Chart.yaml': 'name: a\nversion: 1.1.0\n',
        'charts/c/Chart.yaml': 'name: c\nversion: 0.1.0\n',
      });
      await repo.remove(['charts/b']);
      const c2 = await repo.commit('c2', D2);
      await repo.push();
      assert.equal(await remoteHead(o), c2);
      const updated = await syncCheckout(o);
      assert.deepEqual(commitOf(updated), { commit: c2, commitTime: D2 });
      // the checkout's own tree ids (listed while it resets) are those of the commit checked out
      assert.deepEqual(
        pickTrees(updated.trees, ['', 'charts', 'charts/a', 'charts/b', 'charts/c']),
        await treeIds(o.dir, ['', 'charts', 'charts/a', 'charts/b', 'charts/c']),
      );
      assert.deepEqual([...updated.trees.keys()].sort(), ['', 'charts', 'charts/a', 'charts/c']);
      assert.equal(await readFile(join(o.dir, 'charts/a/Chart.yaml'), 'utf8'), 'name: a\nversion: 1.1.0\n');
      assert.ok(existsSync(join(o.dir, 'charts/c/Chart.yaml')));
      assert.ok(!existsSync(join(o.dir, 'charts/b')), 'deleted chart must disappear');
      assert.ok(!existsSync(join(o.dir, 'stray.txt')), 'untracked files must be cleaned');
      const after = await treeIds(o.dir, ['charts/a', 'charts/b', 'charts/c']);
      assert.notEqual(after.get('charts/a'), before.get('charts/a'));
      assert.equal(after.has('charts/b'), false);
      assert.equal(after.has('charts/c'), true);
    });

    test('force-pushed history is followed by fetch + hard reset', async () => {
      const o = opts('force');
      const old = await syncCheckout(o);
      await repo.resetTo(c1);
      await repo.write({ 'rewritten.txt': 'new history\n' });
      const c3 = await repo.commit('rewritten', D3);
      await repo.push({ force: true });
      assert.notEqual(old.commit, c3);
      assert.deepEqual(commitOf(await syncCheckout(o)), { commit: c3, commitTime: D3 });
      assert.ok(existsSync(join(o.dir, 'rewritten.txt')));
      assert.ok(existsSync(join(o.dir, 'charts/b/Chart.yaml')), 'files of the rewritten history are back');
      assert.ok(!existsSync(join(o.dir, 'charts/c')), 'files only in the discarded history are gone');
    });

    test('a failed update keeps the previous checkout; a failed fresh checkout leaves no directory', async () => {
      const o = opts('keep');
      const good = await syncCheckout(o);
      const tree = await treeIds(o.dir, ['']);
      await assert.rejects(
        syncCheckout({ ...o, ref: 'missing-branch' }),
        (e: unknown) => e instanceof GitError && e.kind === 'ref',
      );
      assert.ok(existsSync(join(o.dir, 'README.md')));
      assert.deepEqual(await treeIds(o.dir, ['']), tree);
      assert.equal((await syncCheckout(o)).commit, good.commit);
      const missing = opts('never');
      await assert.rejects(syncCheckout({ ...missing, ref: 'missing-branch' }), GitError);
      assert.ok(!existsSync(missing.dir));
    });
  });
}

describe('commit ids the server does not advertise', () => {
  test('a protocol v0 server that refuses unadvertised commits: the checkout falls back to a full fetch', async () => {
    const v0 = await startHttpGitServer(servers.repos.path, { protocolV0: true });
    try {
      const repo = await servers.repos.create('v0-only', { 'a.txt': 'old\n' });
      const old = await repo.head();
      await repo.write({ 'a.txt': 'new\n' });
      await repo.commit('newer', D2);
      await repo.push();
      await fixtureGit(['config', '--unset', 'uploadpack.allowAnySHA1InWant'], repo.bare);
      const dir = join(servers.dir, 'co', 'v0-old');
      assert.equal((await syncCheckout({ url: v0.url('v0-only'), ref: old, policy, dir })).commit, old);
      assert.equal(await readFile(join(dir, 'a.txt'), 'utf8'), 'old\n');
      const adverts = v0.requests.filter((r) => r.path.includes('/info/refs')).length;
      assert.equal(adverts, 2, 'the refused shallow fetch, then the full fetch');
      await assert.rejects(
        syncCheckout({
          url: v0.url('v0-only'),
          ref: 'f'.repeat(40),
          policy,
          dir: join(servers.dir, 'co', 'v0-missing'),
        }),
        (e: unknown) => e instanceof GitError && e.kind === 'ref',
      );
    } finally {
      await v0.stop();
    }
  });
});

describe('robust working copies', () => {
  test("a first checkout from a plain path clones through git's transport: shallow, nothing linked to the source", async () => {
    const repo = await servers.repos.create('plain-path', { 'a.txt': '1\n' });
    await repo.write({ 'a.txt': '2\n' });
    await repo.commit('two', D2);
    await repo.push();
    const o = { url: repo.bare, policy, dir: join(servers.dir, 'co', 'plain-path') };
    const tip = await remoteTip(o);
    const { result, git } = await checkoutLogged({ ...o, ref: tip.commit, tip });
    assert.deepEqual(git, ['clone']);
    assert.equal(result.commit, tip.commit);
    assert.ok(existsSync(join(o.dir, '.git', 'shallow')), 'only the wanted commit, as over file://');
    const objects = join(o.dir, '.git', 'objects');
    for (const entry of await readdir(objects, { recursive: true, withFileTypes: true }))
      if (entry.isFile()) assert.equal((await stat(join(entry.parentPath, entry.name))).nlink, 1, entry.name);
  });

  test('a branch that moved between ls-remote and the first checkout: the clone goes on to the commit ls-remote named', async () => {
    const repo = await servers.repos.create('moved-tip', { 'a.txt': '1\n' });
    const o = { url: fileUrl(repo), policy, dir: join(servers.dir, 'co', 'moved-tip') };
    const tip = await remoteTip(o);
    await repo.write({ 'a.txt': '2\n' });
    const moved = await repo.commit('two', D2);
    await repo.push();
    assert.notEqual(moved, tip.commit);
    const { result, git } = await checkoutLogged({ ...o, ref: tip.commit, tip });
    assert.equal(git[0], 'clone', git.join(', '));
    assert.ok(git.includes('reset'), git.join(', '));
    assert.equal(result.commit, tip.commit);
    assert.equal(await headCommit(join(o.dir, '.git')), tip.commit);
    assert.equal(await readFile(join(o.dir, 'a.txt'), 'utf8'), '1\n');
  });

  test("a commit's time and tree are read from the object store as git shows them; what the reader cannot read is left to git, never misread", async () => {
    const repo = await servers.repos.create('objects', { 'a.txt': '0\n' });
    await repo.commit('c0', D1);
    for (let i = 1; i <= 12; i++) {
      await repo.write({ 'a.txt': `${i}\n`, [`d${i % 3}/b.txt`]: `${i}\n` });
      await repo.commit(`c${i}`, new Date(D1.getTime() + i * 3_600_000));
    }
    await repo.push();
    const shas = (await fixtureGit(['rev-list', '--all'], repo.work)).trim().split('\n');
    const gitShows = async (dir: string, sha: string) => {
      const [ct = '', tree = ''] = (await fixtureGit(['show', '-s', '--format=%ct %T', sha], dir))
        .trim()
        .split(' ');
      return { time: new Date(Number(ct) * 1000), tree };
    };
    const workGit = join(repo.work, '.git');
    // loose objects: every commit made in the working clone
    for (const sha of shas)
      assert.deepEqual(await readCommitInfo(workGit, sha), await gitShows(repo.work, sha), sha);
    // packed, some as deltas: each is read right or left to git
    await fixtureGit(['gc', '-q', '--aggressive', '--prune=now'], repo.work);
    let read = 0;
    for (const sha of shas) {
      const info = await readCommitInfo(workGit, sha);
      if (info === undefined) continue;
      read++;
      assert.deepEqual(info, await gitShows(repo.work, sha), sha);
    }
    assert.ok(read > 0, 'commits stored whole in a pack are read');
    // what a sync fetched
    const dir = join(servers.dir, 'co', 'objects');
    const checkout = await syncCheckout({ url: fileUrl(repo), policy, dir });
    assert.deepEqual(
      await readCommitInfo(join(dir, '.git'), checkout.commit),
      await gitShows(dir, checkout.commit),
    );
    // anything odd: undefined, never an exception or a wrong answer
    assert.equal(await readCommitInfo(workGit, 'not-a-sha'), undefined);
    assert.equal(await readCommitInfo(workGit, '0'.repeat(40)), undefined);
    assert.equal(await readCommitInfo(join(dir, 'missing'), checkout.commit), undefined);
    const packDir = join(dir, '.git', 'objects', 'pack');
    for (const f of await readdir(packDir)) {
      const path = join(packDir, f);
      const bytes = await readFile(path);
      await writeFile(path, f.endsWith('.idx') ? bytes.subarray(0, 1100) : Buffer.alloc(bytes.length, 0x78));
    }
    assert.equal(await readCommitInfo(join(dir, '.git'), checkout.commit), undefined);
    assert.equal(
      parseCommit(Buffer.from(`tree ${'a'.repeat(40)}\nauthor x <x> 1 +0000\n\nmsg\n`)),
      undefined,
    );
    assert.deepEqual(
      parseCommit(Buffer.from(`tree ${'a'.repeat(40)}\ncommitter a <b> c> 1700000000 -0130\n\nmsg\n`)),
      { time: new Date(1_700_000_000_000), tree: 'a'.repeat(40) },
    );
    // as `git show --format=%ct` reads them: the last committer line, never a continuation line
    const twice = `tree ${'a'.repeat(40)}\ncommitter a <a> 2000 +0000\ncommitter b <b> 3000 +0000\nx-extra y\n committer c <c> 4000 +0000\n\nmsg\n`;
    assert.deepEqual(parseCommit(Buffer.from(twice))?.time, new Date(3_000_000));
    const farFuture = `tree ${'a'.repeat(40)}\ncommitter x <x> 999999999999999 +0000\n\nmsg\n`;
    assert.equal(parseCommit(Buffer.from(farFuture)), undefined, 'a time a Date cannot hold');
  });

  test('the commit checked out is read from the files git keeps: loose ref, packed ref, detached HEAD; anything else is left to git', async () => {
    const repo = await servers.repos.create('head-files', { 'a.txt': '1\n' });
    const dir = join(servers.dir, 'co', 'head-files');
    const { commit } = await syncCheckout({ url: fileUrl(repo), policy, dir });
    const gitDir = join(dir, '.git');
    assert.equal(await headCommit(gitDir), commit, 'loose ref');
    await fixtureGit(['pack-refs', '--all', '--prune'], dir);
    assert.equal(await headCommit(gitDir), commit, 'packed ref');
    await fixtureGit(['checkout', '-q', '--detach'], dir);
    assert.equal(await headCommit(gitDir), commit, 'detached HEAD');
    for (const head of ['ref: refs/heads/../../../../etc/passwd\n', 'ref: refs/heads/none\n', 'garbage\n']) {
      await writeFile(join(gitDir, 'HEAD'), head);
      assert.equal(await headCommit(gitDir), undefined, head);
    }
    await writeFile(join(gitDir, 'HEAD'), `${commit}\n`);
    assert.equal(await headCommit(join(dir, 'missing')), undefined);
  });

  test('an update fetches a new commit without asking git first; the commit checked out is neither looked up nor fetched', async () => {
    const repo = await servers.repos.create('few-processes', { 'a.txt': '1\n' });
    const dir = join(servers.dir, 'co', 'few-processes');
    await syncCheckout({ url: fileUrl(repo), policy, dir });
    await repo.write({ 'a.txt': '2\n' });
    const c2 = await repo.commit('two', D2);
    await repo.push();
    const commands = (ref: string) => checkoutLogged({ url: fileUrl(repo), ref, policy, dir });
    const update = await commands(c2);
    assert.equal(update.result.commit, c2);
    assert.equal(await readFile(join(dir, 'a.txt'), 'utf8'), '2\n');
    // Exactly these, in the order they finish: the look for stray files runs during the fetch;
    // the commit's details come from the object store, the tree ids from the index the reset
    // wrote.
    assert.deepEqual([...update.git].sort(), ['fetch', 'reset', 'status'], update.git.join(', '));
    assert.ok(update.git.indexOf('fetch') < update.git.indexOf('reset'), update.git.join(', '));
    const again = await commands(c2);
    assert.equal(again.result.commit, c2);
    assert.deepEqual(
      again.git.filter((c) => c === 'fetch' || c === 'rev-parse'),
      [],
      `the commit checked out needs neither: ${again.git.join(', ')}`,
    );
  });

  test('lock files left by a killed git are removed and the update completes', async () => {
    const repo = await servers.repos.create('locks', { 'a.txt': '1\n' });
    const dir = join(servers.dir, 'co', 'locks');
    await syncCheckout({ url: fileUrl(repo), policy, dir });
    for (const lock of ['index.lock', 'shallow.lock', 'HEAD.lock', 'refs/chartsync/fetched.lock']) {
      await mkdir(dirname(join(dir, '.git', lock)), { recursive: true });
      await writeFile(join(dir, '.git', lock), '');
    }
    await repo.write({ 'a.txt': '2\n' });
    const c2 = await repo.commit('two', D2);
    await repo.push();
    assert.equal((await syncCheckout({ url: fileUrl(repo), policy, dir })).commit, c2);
    assert.equal(await readFile(join(dir, 'a.txt'), 'utf8'), '2\n');
    assert.equal(existsSync(join(dir, '.git', 'index.lock')), false);
  });

  test('a long-lived checkout is compacted: packs stay bounded and replaced commits are pruned', async () => {
    const repo = await servers.repos.create('compact', { 'a.txt': '0\n' });
    const dir = join(servers.dir, 'co', 'compact');
    const first = (await syncCheckout({ url: fileUrl(repo), policy, dir })).commit;
    for (let i = 1; i <= MAX_PACKS + 2; i++) {
      await repo.write({ 'a.txt': `${i}\n` });
      await repo.commit(`update ${i}`, new Date(D1.getTime() + i * 1000));
      await repo.push();
      await syncCheckout({ url: fileUrl(repo), policy, dir });
    }
    const stats = await fixtureGit(['count-objects', '-v'], dir);
    const packs = Number(/^packs: (\d+)$/m.exec(stats)?.[1]);
    assert.ok(packs < MAX_PACKS, `packs: ${packs}`);
    await assert.rejects(
      fixtureGit(['cat-file', '-e', `${first}^{commit}`], dir),
      'the first commit is gone',
    );
    assert.equal(await readFile(join(dir, 'a.txt'), 'utf8'), `${MAX_PACKS + 2}\n`);
  });

  test('a first checkout of a repository without commits: a ref error, no directory left (cloned or fetched)', async () => {
    const bare = join(servers.dir, 'no-commits.git');
    await fixtureGit(['init', '-q', '--bare', bare]);
    for (const ref of [undefined, 'refs/heads/main', 'main']) {
      const dir = join(servers.dir, 'co', `no-commits-${ref ?? 'HEAD'}`.replace(/\W+/g, '-'));
      await assert.rejects(
        syncCheckout({ url: `file://${bare}`, ref, policy, dir }),
        (e: unknown) => e instanceof GitError && e.kind === 'ref',
      );
      assert.ok(!existsSync(dir), `${ref}: no directory left`);
    }
  });

  test('an interrupted first checkout (empty repository, .git without HEAD, files without .git) is completed', async () => {
    const repo = await servers.repos.create('interrupted', { 'a.txt': 'x\n' });
    const initOnly = join(servers.dir, 'co', 'init-only');
    await fixtureGit(['init', '-q', initOnly]);
    assert.equal(
      (await syncCheckout({ url: fileUrl(repo), policy, dir: initOnly })).commit,
      await repo.head(),
    );
    const broken = join(servers.dir, 'co', 'broken-git');
    await mkdir(join(broken, '.git'), { recursive: true });
    await writeFile(join(broken, 'leftover.txt'), 'x');
    assert.equal((await syncCheckout({ url: fileUrl(repo), policy, dir: broken })).commit, await repo.head());
    assert.equal(existsSync(join(broken, 'leftover.txt')), false);
    // a removal (or a first clone) killed half-way: files left, .git already gone
    const halfRemoved = join(servers.dir, 'co', 'half-removed');
    await mkdir(join(halfRemoved, 'charts', 'app'), { recursive: true });
    await writeFile(join(halfRemoved, 'charts', 'app', 'values.yaml'), 'x: 1\n');
    assert.equal(
      (await syncCheckout({ url: fileUrl(repo), policy, dir: halfRemoved })).commit,
      await repo.head(),
    );
    assert.equal(existsSync(join(halfRemoved, 'charts')), false);
  });

  test('a git server that goes away and comes back: unreachable meanwhile, then the update completes', async () => {
    const repo = await servers.repos.create('flaky', { 'a.txt': '1\n' });
    for (const server of [servers.daemon, servers.http]) {
      assert.ok(server);
      const o = { url: server.url('flaky'), policy, dir: join(servers.dir, 'co', `flaky-${server.port}`) };
      const first = await syncCheckout(o);
      await server.stop();
      await assert.rejects(
        syncCheckout(o),
        (e: unknown) => e instanceof GitError && e.kind === 'unreachable',
      );
      await assert.rejects(remoteHead(o), (e: unknown) => e instanceof GitError && e.kind === 'unreachable');
      assert.equal(
        await readFile(join(o.dir, 'a.txt'), 'utf8'),
        await fixtureGit(['show', `${first.commit}:a.txt`], repo.bare),
      );
      await server.start();
      await repo.write({ 'a.txt': `after ${server.port}\n` });
      const next = await repo.commit(`after ${server.port}`, D3);
      await repo.push();
      assert.equal((await syncCheckout(o)).commit, next);
      assert.equal(await readFile(join(o.dir, 'a.txt'), 'utf8'), `after ${server.port}\n`);
    }
  });

  test('concurrent checkouts of one directory run one after the other and all succeed', async () => {
    const repo = await servers.repos.create('concurrent', { 'a.txt': 'x\n' });
    const dir = join(servers.dir, 'co', 'concurrent');
    const results = await Promise.all(
      [1, 2, 3, 4].map(() => syncCheckout({ url: fileUrl(repo), policy, dir })),
    );
    const head = await repo.head();
    assert.deepEqual(
      results.map((r) => r.commit),
      [head, head, head, head],
    );
  });
});

describe('the cost of a git command', () => {
  test("simple-git's debug loggers never ask whether stderr is a terminal (an isatty call each)", async () => {
    let calls = 0;
    const isatty = tty.isatty;
    tty.isatty = (fd: number) => {
      calls++;
      return isatty(fd);
    };
    try {
      const out = await withGitSession({ protocols: [] }, (s) =>
        runGit(s, ['version'], { describe: 'git version' }),
      );
      assert.match(out, /^git version/);
    } finally {
      tty.isatty = isatty;
    }
    assert.equal(calls, 0);
  });
});

describe('tree ids', () => {
  /** Every directory's tree id at `rev` as git lists it ('' for the root). */
  async function gitTrees(dir: string, rev = 'HEAD'): Promise<Map<string, string>> {
    const trees = new Map([['', (await fixtureGit(['rev-parse', `${rev}^{tree}`], dir)).trim()]]);
    for (const entry of (await fixtureGit(['ls-tree', '-r', '-d', '-z', '--full-tree', rev], dir)).split(
      '\0',
    )) {
      const m = /^\d+ tree ([0-9a-f]{40})\t(.*)$/s.exec(entry);
      if (m) trees.set(m[2] as string, m[1] as string);
    }
    return trees;
  }

  test("the tree ids a checkout reads from git's index are ls-tree's for every directory; an index it does not know is left to git", async () => {
    const files: Record<string, string> = {
      'file.txt': 'f',
      'we:ird *dir/Chart.yaml': 'name: w\n',
      'ünïcødé/deeper/still/Chart.yaml': 'name: u\n',
      'a/b/c/d/e/f.txt': 'deep\n',
    };
    for (let i = 0; i < 30; i++) files[`charts/c${i}/templates/t.yaml`] = `n: ${i % 3}\n`;
    const repo = await servers.repos.create('index-trees', files);
    const dir = join(servers.dir, 'co', 'index-trees');
    const gitDir = join(dir, '.git');
    const first = await checkoutLogged({ url: fileUrl(repo), policy, dir });
    assert.deepEqual(first.git, ['clone']);
    assert.deepEqual(first.result.trees, await gitTrees(dir));
    assert.equal(first.result.trees.size, 1 + 1 + 3 + 5 + 1 + 30 * 2);
    // an update: the reset's index, with directories added, removed and changed deep down
    await repo.write({ 'a/b/c/x.txt': 'new\n', 'new/dir/Chart.yaml': 'name: n\n' });
    await repo.remove(['charts/c7']);
    await repo.commit('change', D2);
    await repo.push();
    const update = await checkoutLogged({ url: fileUrl(repo), policy, dir });
    assert.ok(!update.git.includes('ls-tree'), update.git.join(', '));
    assert.deepEqual(update.result.trees, await gitTrees(dir));
    const root = update.result.trees.get('') as string;
    // what is trusted: only a complete cache-tree whose root is the commit's
    assert.deepEqual(await readIndexTrees(gitDir, root), update.result.trees);
    assert.equal(await readIndexTrees(gitDir, '0'.repeat(40)), undefined);
    const index = await readFile(join(gitDir, 'index'));
    for (const cut of [0, 11, 40, index.length >> 1, index.length - 21, index.length - 1])
      assert.equal(parseIndexTrees(index.subarray(0, cut)), undefined, `cut at ${cut}`);
    // a file staged since: git marks its directories changed (no id): left to git
    await writeFile(join(dir, 'a/b/c/x.txt'), 'staged\n');
    await fixtureGit(['add', 'a/b/c/x.txt'], dir);
    assert.equal(await readIndexTrees(gitDir, root), undefined);
    await fixtureGit(['reset', '-q', '--hard'], dir);
    // index version 4 (paths compressed): not read; git's ls-tree answers, the same ids
    await fixtureGit(['update-index', '--index-version', '4'], dir);
    assert.equal(await readIndexTrees(gitDir, root), undefined);
    await repo.write({ 'v4/Chart.yaml': 'name: v\n' });
    await repo.commit('v4', D3);
    await repo.push();
    const v4 = await checkoutLogged({ url: fileUrl(repo), policy, dir });
    assert.ok(v4.git.includes('ls-tree'), v4.git.join(', '));
    assert.deepEqual(v4.result.trees, await gitTrees(dir));
  });

  test('one id per directory at HEAD: equal content, equal id; files and missing paths are left out', async () => {
    const repo = await servers.repos.create('trees', {
      'x/Chart.yaml': 'name: same\n',
      'y/Chart.yaml': 'name: same\n',
      'z/Chart.yaml': 'name: other\n',
      'file.txt': 'f',
      'we:ird *dir/Chart.yaml': 'name: w\n',
      'ünïcødé/Chart.yaml': 'name: u\n',
    });
    const dir = join(servers.dir, 'co', 'trees');
    await syncCheckout({ url: fileUrl(repo), policy, dir });
    const ids = await treeIds(dir, ['x', 'y/', './z', 'file.txt', 'nope', '', 'we:ird *dir', 'ünïcødé']);
    assert.equal(ids.get('x'), ids.get('y/'));
    assert.notEqual(ids.get('x'), ids.get('./z'));
    assert.match(ids.get('') ?? '', /^[0-9a-f]{40}$/);
    assert.match(ids.get('we:ird *dir') ?? '', /^[0-9a-f]{40}$/);
    assert.match(ids.get('ünïcødé') ?? '', /^[0-9a-f]{40}$/);
    assert.equal(ids.has('file.txt'), false);
    assert.equal(ids.has('nope'), false);
  });
});
