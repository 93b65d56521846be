/**
 * Hostile URLs and refs are refused before any git process starts (a wrapper around git proves
 * no command ran; an ext:: canary proves nothing was executed), and git's own protocol settings
 * refuse the same things when the pre-check is bypassed. Submodules pointing at file:// are not
 * fetched, HTTP redirects to another host or transport are not followed, hung remotes time out.
 */
import assert from 'node:assert/strict';
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { readdir } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { GitError, remoteHead, runGit, syncCheckout, withGitSession } from '@chartsync/sidecar/git';
import {
  type FixtureRepo,
  fileUrl,
  fixtureGit,
  freePort,
  type GitServers,
  type HttpGitServer,
  startGitServers,
  startHttpGitServer,
} from '../harness/git-server.ts';

// A `git` earlier in PATH that records every invocation, then runs the real one.
const spy = mkdtempSync(join(tmpdir(), 'chartsync-gitspy-'));
const spyLog = join(spy, 'calls.log');
const realGit = process.env.PATH?.split(':')
  .map((d) => join(d, 'git'))
  .find((p) => existsSync(p));
writeFileSync(join(spy, 'git'), `#!/bin/sh\nprintf '%s\\n' "$*" >> '${spyLog}'\nexec '${realGit}' "$@"\n`);
chmodSync(join(spy, 'git'), 0o755);
process.env.PATH = `${spy}:${process.env.PATH}`;
const gitCalls = () => (existsSync(spyLog) ? readFileSync(spyLog, 'utf8').split('\n').filter(Boolean) : []);

const open = { allowLocal: true, allowInsecure: true };
const remoteOnly = { allowLocal: false, allowInsecure: true };
let servers: GitServers;
let repo: FixtureRepo;
let canary: string;

before(async () => {
  servers = await startGitServers({ daemon: true, http: true });
  repo = await servers.repos.create('target', { 'charts/a/Chart.yaml': 'name: a\n' });
  canary = join(servers.dir, 'canary');
});
after(async () => {
  await servers?.stop();
  rmSync(spy, { recursive: true, force: true });
});

async function refusedBeforeGit(call: () => Promise<unknown>, label: string): Promise<void> {
  const callsBefore = gitCalls().length;
  await assert.rejects(call(), (e: unknown) => e instanceof GitError && e.kind === 'policy', label);
  assert.equal(gitCalls().length, callsBefore, `${label}: a git command ran`);
  assert.ok(!existsSync(canary), `${label}: the canary was created`);
}

describe('hostile URLs and refs are refused before git runs', () => {
  test('control: the git spy records commands, and an allowed ext:: transport would run the canary', async () => {
    const callsBefore = gitCalls().length;
    // (not remoteHead: a local repository's refs are read without git, refs.ts)
    await withGitSession({ protocols: ['file'] }, (s) =>
      runGit(s, ['ls-remote', '--', fileUrl(repo)], { describe: 'control' }),
    );
    assert.ok(gitCalls().length > callsBefore, 'the spy must see git commands');
    const everything = ['https', 'ssh', 'http', 'git', 'file', 'ext'] as unknown as ('https' | 'ssh')[];
    await withGitSession({ protocols: everything }, (s) =>
      runGit(s, ['ls-remote', '--', `ext::sh -c touch% ${canary}`], { describe: 'control' }),
    ).catch(() => {});
    assert.ok(
      existsSync(canary),
      'ext:: with the transport allowed runs the command (so a missing canary proves something)',
    );
    rmSync(canary);
  });

  const hostileUrls = () => [
    `ext::sh -c touch% ${canary}`,
    `ext::sh -c "touch ${canary}"`,
    `ext::touch%20${canary}`,
    'fd::17',
    'fd::0,1/x',
    `-u touch ${canary}`,
    `--upload-pack=touch ${canary}`,
    `--upload-pack=touch%20${canary}`,
    `${fileUrl(repo)} --upload-pack=touch`,
    `${fileUrl(repo)}\n--upload-pack=touch ${canary}`,
    `${fileUrl(repo)}\u0000--upload-pack=x`,
    `https://example.com/x.git/--upload-pack=touch%20${canary}`,
    `ssh://-oProxyCommand=touch%20${canary}/x`,
    `-oProxyCommand=touch:${canary}`,
  ];

  test('hostile URLs (ext::, fd::, leading -, --upload-pack/-u, newline, NUL, ssh options)', async () => {
    for (const url of hostileUrls()) {
      await refusedBeforeGit(() => remoteHead({ url, policy: open }), `remoteHead ${JSON.stringify(url)}`);
      const dir = join(servers.dir, 'hostile-co');
      await refusedBeforeGit(
        () => syncCheckout({ url, policy: open, dir }),
        `syncCheckout ${JSON.stringify(url)}`,
      );
      assert.ok(!existsSync(dir), 'no checkout directory is created for a refused URL');
    }
  });

  test('hostile refs (--output=..., --upload-pack, -u, newline, NUL, ..)', async () => {
    const out = join(servers.dir, 'output-target');
    const refs = [
      `--output=${out}`,
      `--upload-pack=touch ${canary}`,
      '-u',
      `main\n--output=${out}`,
      'ma\0in',
      'main..dev',
      '-',
      '--',
      'main\r',
    ];
    for (const ref of refs) {
      await refusedBeforeGit(
        () => remoteHead({ url: fileUrl(repo), ref, policy: open }),
        `remoteHead ref ${JSON.stringify(ref)}`,
      );
      await refusedBeforeGit(
        () => syncCheckout({ url: fileUrl(repo), ref, policy: open, dir: join(servers.dir, 'hostile-ref') }),
        `syncCheckout ref ${JSON.stringify(ref)}`,
      );
    }
    assert.ok(!existsSync(out));
  });

  test('file:// URLs and local paths when local repositories are not allowed', async () => {
    for (const url of [fileUrl(repo), repo.bare, `${servers.repos.path}/../repos/target.git`, 'target.git']) {
      await refusedBeforeGit(() => remoteHead({ url, policy: remoteOnly }), `local ${url}`);
    }
  });

  test('http:// and git:// when insecure transports are not allowed', async () => {
    for (const url of [servers.http?.url('target') ?? '', servers.daemon?.url('target') ?? '']) {
      await refusedBeforeGit(
        () => remoteHead({ url, policy: { allowLocal: true, allowInsecure: false } }),
        `insecure ${url}`,
      );
    }
  });
});

describe('git itself refuses when the pre-check is bypassed', () => {
  async function bypass(
    protocols: ('https' | 'ssh' | 'http' | 'git' | 'file')[],
    args: string[],
    cwd?: string,
  ): Promise<GitError> {
    let caught: unknown;
    await withGitSession({ protocols }, (s) => runGit(s, args, { describe: 'bypass', cwd })).catch(
      (e) => (caught = e),
    );
    assert.ok(caught instanceof GitError, `expected a GitError, got ${String(caught)}`);
    return caught;
  }

  test('ext:: is not an allowed transport: nothing runs', async () => {
    const err = await bypass(
      ['https', 'ssh', 'http', 'git', 'file'],
      ['ls-remote', '--', `ext::sh -c touch% ${canary}`],
    );
    assert.equal(err.kind, 'policy');
    assert.match(err.message, /transport 'ext' not allowed/);
    assert.ok(!existsSync(canary));
  });

  test('file://, local paths and git:// are refused unless allowed', async () => {
    const local = await bypass(['https', 'ssh'], ['ls-remote', '--', fileUrl(repo)]);
    assert.equal(local.kind, 'policy');
    assert.match(local.message, /transport 'file' not allowed/);
    assert.equal((await bypass(['https', 'ssh'], ['ls-remote', '--', repo.bare])).kind, 'policy');
    const insecure = await bypass(['https', 'ssh'], ['ls-remote', '--', servers.daemon?.url('target') ?? '']);
    assert.equal(insecure.kind, 'policy');
    assert.match(insecure.message, /transport 'git' not allowed/);
  });

  test('an option-like ref after "--" is a refspec, not an option', async () => {
    const out = join(servers.dir, 'bypass-output');
    const dir = join(servers.dir, 'bypass-co');
    await syncCheckout({ url: fileUrl(repo), policy: open, dir });
    const err = await bypass(['file'], ['fetch', '--', fileUrl(repo), `--output=${out}`], dir);
    assert.notEqual(err.kind, 'policy');
    assert.ok(!existsSync(out));
  });

  test('simple-git blocks --upload-pack and -u even if they reach the runner', async () => {
    for (const args of [
      ['ls-remote', `--upload-pack=touch ${canary}`, fileUrl(repo)],
      ['clone', '-u', `touch ${canary}`, fileUrl(repo), join(servers.dir, 'never')],
    ]) {
      const err = await bypass(['file'], args);
      assert.equal(err.kind, 'policy', err.message);
      assert.ok(!existsSync(canary));
    }
  });
});

describe('submodules', () => {
  let superRepo: FixtureRepo;
  let secret: FixtureRepo;
  let visible: FixtureRepo;
  let beforeSubmodule: string;

  before(async () => {
    secret = await servers.repos.create('local-secret', { 'secret.txt': 'local data\n' });
    visible = await servers.repos.create('visible', { 'ok.txt': 'fine\n' });
    superRepo = await servers.repos.create('super', { 'charts/a/Chart.yaml': 'name: a\n' });
    beforeSubmodule = await superRepo.head();
    await superRepo.addSubmodule('vendor/local', fileUrl(secret));
    await superRepo.commit('add file:// submodule');
    await superRepo.push();
  });

  test('are not fetched unless asked for', async () => {
    const dir = join(servers.dir, 'super-off');
    await syncCheckout({ url: servers.http?.url('super') ?? '', policy: remoteOnly, dir });
    assert.ok(existsSync(join(dir, 'charts/a/Chart.yaml')));
    assert.deepEqual(await readdir(join(dir, 'vendor/local')).catch(() => []), []);
  });

  test('a file:// submodule is refused when asked for, naming the submodule; git refuses it too', async () => {
    const dir = join(servers.dir, 'super-on');
    await assert.rejects(
      syncCheckout({ url: servers.http?.url('super') ?? '', policy: remoteOnly, dir, submodules: true }),
      (e: unknown) =>
        e instanceof GitError && e.kind === 'policy' && /submodule vendor\/local/.test(e.message),
    );
    const bypassDir = join(servers.dir, 'super-bypass');
    await syncCheckout({ url: servers.http?.url('super') ?? '', policy: remoteOnly, dir: bypassDir });
    let caught: unknown;
    await withGitSession({ protocols: ['https', 'ssh', 'http', 'git'], submodules: true }, (s) =>
      runGit(s, ['submodule', 'update', '--init', '--recursive'], {
        cwd: bypassDir,
        describe: 'submodule update',
      }),
    ).catch((e) => (caught = e));
    assert.ok(caught instanceof GitError && caught.kind === 'policy', String(caught));
    assert.match(caught.message, /transport 'file' not allowed/);
    assert.ok(!existsSync(join(bypassDir, 'vendor/local/secret.txt')));
  });

  test('an update to a commit with a refused submodule leaves the previous checkout as it was', async () => {
    const dir = join(servers.dir, 'super-update');
    const url = servers.http?.url('super') ?? '';
    await syncCheckout({ url, ref: beforeSubmodule, policy: remoteOnly, dir, submodules: true });
    await assert.rejects(
      syncCheckout({ url, ref: 'main', policy: remoteOnly, dir, submodules: true }),
      (e: unknown) => e instanceof GitError && e.kind === 'policy',
    );
    assert.equal(existsSync(join(dir, '.gitmodules')), false);
    assert.equal((await fixtureGit(['rev-parse', 'HEAD'], dir)).trim(), beforeSubmodule);
  });

  test('a submodule over an allowed transport is fetched when asked for', async () => {
    const withOk = await servers.repos.create('super-ok', { 'x.txt': 'x\n' });
    await withOk.addSubmodule('vendor/ok', servers.http?.url('visible') ?? '');
    await withOk.commit('add http submodule');
    await withOk.push();
    const dir = join(servers.dir, 'super-ok-co');
    await syncCheckout({
      url: servers.http?.url('super-ok') ?? '',
      policy: remoteOnly,
      dir,
      submodules: true,
    });
    assert.equal(readFileSync(join(dir, 'vendor/ok/ok.txt'), 'utf8'), 'fine\n');
    assert.ok(visible);
  });
});

describe('HTTP redirects', () => {
  let redirector: HttpGitServer;
  let elsewhere: HttpGitServer;

  before(async () => {
    elsewhere = await startHttpGitServer(servers.repos.path);
    redirector = await startHttpGitServer(servers.repos.path, {
      redirect: (path) => {
        if (path.startsWith('/other-host.git/'))
          return `http://localhost:${elsewhere.port}/target.git/${path.split('/').slice(2).join('/')}`;
        if (path.startsWith('/other-proto.git/'))
          return `${servers.daemon?.url('target')}/${path.split('/').slice(2).join('/')}`;
        if (path.startsWith('/to-file.git/')) return `file://${repo.bare}`;
        return undefined;
      },
    });
  });
  after(async () => {
    await redirector?.stop();
    await elsewhere?.stop();
  });

  test('a redirect to another host or another transport is not followed', async () => {
    for (const name of ['other-host', 'other-proto', 'to-file']) {
      const url = redirector.url(name);
      await assert.rejects(
        remoteHead({ url, policy: open }),
        (e: unknown) => e instanceof GitError && /redirects are not followed/.test(e.message),
        name,
      );
      await assert.rejects(
        syncCheckout({ url, policy: open, dir: join(servers.dir, `redir-${name}`) }),
        GitError,
        name,
      );
    }
    assert.deepEqual(elsewhere.requests, [], 'the redirect target must never be contacted');
    assert.ok(redirector.requests.every((r) => r.status === 302));
  });
});

describe('unreachable and hung remotes', () => {
  let hung: Server;
  let hungPort: number;
  const sockets = new Set<Socket>();

  before(async () => {
    hung = createServer((s) => {
      sockets.add(s);
      s.on('error', () => {});
    });
    await new Promise<void>((r) => hung.listen(0, '127.0.0.1', r));
    hungPort = (hung.address() as { port: number }).port;
  });
  after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => hung.close(r));
  });

  test('a server that accepts but never answers is abandoned after the timeout', async () => {
    for (const url of [`git://127.0.0.1:${hungPort}/x.git`, `http://127.0.0.1:${hungPort}/x.git`]) {
      const t0 = performance.now();
      await assert.rejects(
        remoteHead({ url, policy: open, timeoutMs: 1000 }),
        (e: unknown) => e instanceof GitError && e.kind === 'unreachable',
        url,
      );
      assert.ok(performance.now() - t0 < 8000, `${url} took ${performance.now() - t0} ms`);
      const t1 = performance.now();
      const dir = join(servers.dir, `hung-${url.split(':')[0]}`);
      await assert.rejects(
        syncCheckout({ url, policy: open, dir, timeoutMs: 1000 }),
        (e: unknown) =>
          e instanceof GitError && e.kind === 'unreachable' && /timed out|Operation too slow/.test(e.message),
        url,
      );
      assert.ok(performance.now() - t1 < 8000, `checkout of ${url} took ${performance.now() - t1} ms`);
      assert.equal(existsSync(dir), false);
    }
  });

  test('a repository that does not exist fails naming the URL, with a hint', async () => {
    for (const url of [servers.http?.url('no-such-repo') ?? '', servers.daemon?.url('no-such-repo') ?? '']) {
      await assert.rejects(
        remoteHead({ url, policy: open }),
        (e: unknown) =>
          e instanceof GitError && e.message.includes(url) && /no repository at this URL/.test(e.message),
        url,
      );
    }
  });

  test('a closed port is unreachable', async () => {
    const port = await freePort();
    for (const url of [`git://127.0.0.1:${port}/x.git`, `http://127.0.0.1:${port}/x.git`]) {
      await assert.rejects(
        remoteHead({ url, policy: open }),
        (e: unknown) => e instanceof GitError && e.kind === 'unreachable' && /127\.0\.0\.1/.test(e.message),
        url,
      );
    }
  });
});

describe("local repositories never lead into the policy's private directories (another registration's clone)", () => {
  // The private dir stands for the sidecar's data dir: it holds a repository (a clone).
  let privateRepo: FixtureRepo;
  let publicRepo: FixtureRepo;
  let policy: typeof open & { privateDirs: string[] };
  let link: string;

  before(async () => {
    privateRepo = await servers.repos.create('private-clone', { 'secret.txt': 'tenant data\n' });
    publicRepo = await servers.repos.create('public-local', { 'charts/a/Chart.yaml': 'name: a\n' });
    policy = { ...open, privateDirs: [privateRepo.bare] };
    link = join(servers.dir, 'innocent.git');
  });

  test('control: the private repository can be cloned when it is not private', async () => {
    const dir = join(servers.dir, 'control-private');
    await syncCheckout({ url: fileUrl(privateRepo), policy: open, dir });
    assert.equal(readFileSync(join(dir, 'secret.txt'), 'utf8'), 'tenant data\n');
  });

  test('by its path, and through a symbolic link swapped after a good sync, refused before git runs', async () => {
    await refusedBeforeGit(
      () => syncCheckout({ url: fileUrl(privateRepo), policy, dir: join(servers.dir, 'p1') }),
      'file URL',
    );
    await refusedBeforeGit(() => remoteHead({ url: privateRepo.bare, policy }), 'path');
    symlinkSync(publicRepo.bare, link);
    const dir = join(servers.dir, 'via-link');
    await syncCheckout({ url: `file://${link}`, policy, dir });
    assert.ok(existsSync(join(dir, 'charts/a/Chart.yaml')), 'a link to a public repository works');
    unlinkSync(link);
    symlinkSync(privateRepo.bare, link);
    await assert.rejects(
      syncCheckout({ url: `file://${link}`, policy, dir }),
      (e: unknown) =>
        e instanceof GitError &&
        e.kind === 'policy' &&
        /links, .git files and alternates followed/.test(e.message),
    );
    assert.ok(!existsSync(join(dir, 'secret.txt')), 'nothing of the private repository was checked out');
    await refusedBeforeGit(() => remoteHead({ url: link, policy }), 'link, ls-remote');
  });

  test("a local superproject's relative submodule URL that climbs into a private directory is refused", async () => {
    const sup = await servers.repos.create('local-super', { 'charts/a/Chart.yaml': 'name: a\n' });
    // written absolute (git needs to clone it to add it), then made relative: ../private-clone.git
    await sup.addSubmodule('vendor/x', fileUrl(privateRepo), { cloneFrom: fileUrl(privateRepo) });
    await fixtureGit(
      ['config', '-f', '.gitmodules', 'submodule.vendor/x.url', '../private-clone.git'],
      sup.work,
    );
    await fixtureGit(['add', '.gitmodules'], sup.work);
    await sup.commit('relative submodule');
    await sup.push();
    const dir = join(servers.dir, 'local-super');
    await assert.rejects(
      syncCheckout({ url: fileUrl(sup), policy, dir, submodules: true }),
      (e: unknown) =>
        e instanceof GitError &&
        e.kind === 'policy' &&
        /submodule vendor\/x.*data or storage/.test(e.message),
    );
    assert.ok(!existsSync(join(dir, 'vendor/x/secret.txt')), 'the submodule was not fetched');
    // control: without the private directory the same checkout fetches it
    await syncCheckout({
      url: fileUrl(sup),
      policy: open,
      dir: join(servers.dir, 'local-super-open'),
      submodules: true,
    });
    assert.ok(existsSync(join(servers.dir, 'local-super-open', 'vendor/x/secret.txt')));
  });

  test("a submodule's own submodules are not fetched: their URLs were never checked", async () => {
    // middle has the private repository as a submodule; outer has middle
    const middle = await servers.repos.create('middle', { 'm.txt': 'middle\n' });
    await middle.addSubmodule('inner', fileUrl(privateRepo));
    await middle.commit('inner submodule');
    await middle.push();
    const outer = await servers.repos.create('outer', { 'charts/a/Chart.yaml': 'name: a\n' });
    await outer.addSubmodule('vendor/middle', fileUrl(middle));
    await outer.commit('middle submodule');
    await outer.push();
    const dir = join(servers.dir, 'outer');
    await syncCheckout({ url: fileUrl(outer), policy, dir, submodules: true });
    assert.ok(existsSync(join(dir, 'vendor/middle/m.txt')), 'the checked submodule is fetched');
    assert.ok(!existsSync(join(dir, 'vendor/middle/inner/secret.txt')), 'the nested one is not');
  });
});
