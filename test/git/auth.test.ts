/**
 * Private repositories over HTTPS-style basic auth (smart HTTP) and SSH keys with known hosts:
 * the right credentials work, wrong ones fail as GitError 'auth' with a message that names the
 * URL but no secret, and no credential survives in the checkout, in a temp file or in a log line.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { type GitAuth, GitError, remoteHead, syncCheckout, withGitSession } from '@chartsync/sidecar/git';
import { createLogger } from '@chartsync/sidecar/log';
import {
  type FixtureRepo,
  type GitServers,
  type HttpGitServer,
  startGitServers,
  startHttpGitServer,
} from '../harness/git-server.ts';

// Every session file (askpass helper, ssh key, known_hosts) is created under TMPDIR: a private
// one lets the tests prove they are all gone afterwards.
const sessionTmp = mkdtempSync(join(tmpdir(), 'chartsync-auth-tmp-'));
process.env.TMPDIR = sessionTmp;

const USER = 'chartsync-bot';
const PASSWORD = 'pA55-w0rd:with/odd@chars%!';
const TOKEN = 'ghp_0123456789abcdefTOKENvalue';
/** A token in the URL's query, and a fragment: secrets too (redactUrl never shows them). */
const QUERY_TOKEN = 'qtok-SEKRET4-9a8b7c6d';
const FRAGMENT = 'frag-SEKRET5-1f2e3d';
const policy = { allowLocal: false, allowInsecure: true };

const logged = new PassThrough();
let logText = '';
logged.on('data', (d) => (logText += d));
const log = createLogger({ level: 'debug', pretty: false, destination: logged });

let servers: GitServers;
let tokenServer: HttpGitServer;
let repo: FixtureRepo;
let head: string;

before(async () => {
  servers = await startGitServers({ http: { auth: { username: USER, password: PASSWORD } }, ssh: true });
  tokenServer = await startHttpGitServer(servers.repos.path, {
    auth: { username: 'x-access-token', password: TOKEN },
  });
  repo = await servers.repos.create('private', { 'charts/a/Chart.yaml': 'name: a\nversion: 1.0.0\n' });
  head = await repo.head();
});
after(async () => {
  await tokenServer?.stop();
  await servers?.stop();
  rmSync(sessionTmp, { recursive: true, force: true });
});

const httpUrl = () => servers.http?.url('private') ?? '';
const sshUrl = () => servers.ssh?.url(repo.bare) ?? '';
const sshAuth = (over: Partial<GitAuth> = {}): GitAuth => ({
  sshKey: servers.ssh?.clientKey,
  knownHosts: servers.ssh?.knownHosts,
  ...over,
});
const secrets = () => [
  PASSWORD,
  encodeURIComponent(PASSWORD),
  Buffer.from(`${USER}:${PASSWORD}`).toString('base64'),
  TOKEN,
  QUERY_TOKEN,
  FRAGMENT,
  ...keyLines(),
];
const keyLines = () =>
  [servers.ssh?.clientKey ?? '', servers.ssh?.otherKey ?? '']
    .flatMap((k) => k.split('\n'))
    .filter((l) => l.length > 20 && !l.startsWith('-----'));

function assertNoSecret(text: string, where: string): void {
  for (const s of secrets()) assert.ok(!text.includes(s), `${where} contains a secret (${s.slice(0, 6)}...)`);
}

async function rejectsAuth(p: Promise<unknown>, why: RegExp): Promise<GitError> {
  let caught: unknown;
  await p.catch((e) => (caught = e));
  assert.ok(caught instanceof GitError, `expected a GitError, got ${String(caught)}`);
  assert.equal(caught.kind, 'auth', caught.message);
  assert.match(caught.message, why);
  assertNoSecret(caught.message, 'the error message');
  assertNoSecret(JSON.stringify(caught), 'the serialized error');
  return caught;
}

/** Every file under `dir`, read as text. */
async function allFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out.push(await readFile(join(e.parentPath, e.name), 'latin1'));
  }
  return out;
}

describe('HTTPS basic auth and tokens', () => {
  test('the right username and password check out the private repository', async () => {
    const dir = join(servers.dir, 'co-http');
    const auth = { username: USER, password: PASSWORD };
    assert.equal(await remoteHead({ url: httpUrl(), policy, auth, log }), head);
    assert.equal((await syncCheckout({ url: httpUrl(), policy, auth, dir, log })).commit, head);
    for (const text of await allFiles(join(dir, '.git'))) assertNoSecret(text, 'the checkout .git directory');
    assert.doesNotMatch(await readFile(join(dir, '.git/config'), 'utf8'), new RegExp(USER));
  });

  test('credentials written into the URL are used but never stored or shown', async () => {
    const dir = join(servers.dir, 'co-http-userinfo');
    const url = httpUrl().replace('http://', `http://${USER}:${encodeURIComponent(PASSWORD)}@`);
    assert.equal((await syncCheckout({ url, policy, dir, log })).commit, head);
    for (const text of await allFiles(join(dir, '.git'))) assertNoSecret(text, 'the checkout .git directory');
    const err = await rejectsAuth(
      remoteHead({ url: url.replace(encodeURIComponent(PASSWORD), 'wrong-pw'), policy, log }),
      /Authentication failed/,
    );
    assert.doesNotMatch(err.message, /wrong-pw|chartsync-bot@/);
  });

  test("a token in the URL's query or fragment reaches git's error output, yet no message or log line", async () => {
    const withQuery = (base: string) => `${base}?access_token=${QUERY_TOKEN}#${FRAGMENT}`;
    const shown = (err: GitError) => {
      assertNoSecret(err.message, 'the error message');
      assertNoSecret(JSON.stringify(err), 'the serialized error');
      return err.message;
    };
    const caught = (p: Promise<unknown>) =>
      p.then(
        () => assert.fail('expected a GitError'),
        (e: unknown) => {
          assert.ok(e instanceof GitError, String(e));
          return e;
        },
      );
    // a closed port: git quotes the whole URL in "unable to access '…'"
    const closed = 'http://127.0.0.1:9/a.git';
    const down = await caught(remoteHead({ url: withQuery(closed), policy, log }));
    assert.equal(down.kind, 'unreachable', down.message);
    assert.match(shown(down), /unable to access 'http:\/\/127\.0\.0\.1:9\/a\.git'/);
    // the real server, with the right credentials: git appends its own path after the query
    const auth = { username: USER, password: PASSWORD };
    const served = await caught(remoteHead({ url: withQuery(httpUrl()), policy, auth, log }));
    assert.match(shown(served), new RegExp(httpUrl().replace(/[./]/g, '\\$&')));
    const cloned = await caught(
      syncCheckout({ url: withQuery(httpUrl()), policy, auth, dir: join(servers.dir, 'co-query'), log }),
    );
    shown(cloned);
    assert.ok(
      servers.http?.requests.some((r) => r.path.includes(QUERY_TOKEN)),
      'the query went to the server',
    );
    assert.match(logText, /git command failed/);
    assertNoSecret(logText, 'the log');
  });

  test('credentials go with the first request to the repository origin: no 401 round trip', async () => {
    const http = servers.http;
    assert.ok(http);
    const before = http.requests.length;
    assert.equal(
      await remoteHead({ url: httpUrl(), policy, auth: { username: USER, password: PASSWORD }, log }),
      head,
    );
    const served = http.requests.slice(before);
    assert.equal(served.length, 2, JSON.stringify(served));
    assert.ok(served.every((r) => r.authorization && r.status === 200));
  });

  test('a token alone is sent as the password of the conventional x-access-token user', async () => {
    const url = tokenServer.url('private');
    assert.equal(await remoteHead({ url, policy, auth: { password: TOKEN }, log }), head);
  });

  test('a wrong password, a wrong user and no credentials fail as auth errors naming the URL', async () => {
    const err = await rejectsAuth(
      remoteHead({ url: httpUrl(), policy, auth: { username: USER, password: 'not-it' }, log }),
      /Authentication failed/,
    );
    assert.match(err.message, new RegExp(httpUrl().replace(/[./]/g, '\\$&')));
    await rejectsAuth(
      syncCheckout({
        url: httpUrl(),
        policy,
        auth: { username: 'mallory', password: PASSWORD },
        dir: join(servers.dir, 'co-bad'),
        log,
      }),
      /Authentication failed/,
    );
    await rejectsAuth(remoteHead({ url: httpUrl(), policy, log }), /could not read Username/);
  });

  test('the askpass helper answers only for the origin of the URL, never for another host', async () => {
    const origin = 'http://127.0.0.1:1234';
    await withGitSession(
      { protocols: ['http'], auth: { username: USER, password: PASSWORD }, origin },
      async (s) => {
        const ask = (prompt: string) =>
          promisify(execFile)(s.env.GIT_ASKPASS ?? '', [prompt], { env: s.env }).then(
            (r) => r.stdout,
            () => undefined,
          );
        assert.equal(await ask(`Username for '${origin}': `), `${USER}\n`);
        assert.equal(await ask(`Password for 'http://${USER}@127.0.0.1:1234': `), `${PASSWORD}\n`);
        assert.equal(await ask(`Password for 'http://${USER}@127.0.0.1:9999': `), undefined);
        assert.equal(await ask(`Username for 'http://evil.example': `), undefined);
        assert.equal(await ask(`Username for 'http://127.0.0.1:1234.evil.example': `), undefined);
      },
    );
  });
});

describe('credentials and submodules', () => {
  let other: HttpGitServer;
  before(async () => {
    other = await startHttpGitServer(servers.repos.path, { auth: { username: USER, password: PASSWORD } });
  });
  after(async () => {
    await other?.stop();
  });

  async function superproject(name: string, submodules: Record<string, string>): Promise<string> {
    const sup = await servers.repos.create(name, { 'README.md': `${name}\n` });
    for (const [path, url] of Object.entries(submodules))
      await sup.addSubmodule(path, url, { cloneFrom: repo.bare });
    await sup.commit('submodules');
    await sup.push();
    return servers.http?.url(name) ?? '';
  }

  test('a same-origin (relative) submodule gets the credentials; nothing secret lands in .git', async () => {
    const url = await superproject('super-same', { 'vendor/same': '../private.git' });
    const dir = join(servers.dir, 'co-super-same');
    const userinfoUrl = url.replace('http://', `http://${USER}:${encodeURIComponent(PASSWORD)}@`);
    await syncCheckout({ url: userinfoUrl, policy, dir, submodules: true, log });
    assert.equal(
      await readFile(join(dir, 'vendor/same/charts/a/Chart.yaml'), 'utf8'),
      'name: a\nversion: 1.0.0\n',
    );
    for (const text of await allFiles(join(dir, '.git'))) assertNoSecret(text, 'the checkout .git directory');
  });

  test('a submodule on another host:port never receives the credentials', async () => {
    const url = await superproject('super-other', { 'vendor/other': other.url('private') });
    await rejectsAuth(
      syncCheckout({
        url,
        policy,
        auth: { username: USER, password: PASSWORD },
        dir: join(servers.dir, 'co-super-other'),
        submodules: true,
        log,
      }),
      /could not read Username|Authentication failed/,
    );
    assert.ok(other.requests.length > 0, 'the submodule was tried');
    assert.equal(
      other.requests.filter((r) => r.authorization).length,
      0,
      'credentials were sent to another origin',
    );
  });
});

describe('SSH keys and known hosts', () => {
  test('the authorized key with the right known_hosts checks out the repository', async () => {
    const dir = join(servers.dir, 'co-ssh');
    assert.equal(await remoteHead({ url: sshUrl(), policy, auth: sshAuth(), log }), head);
    assert.equal((await syncCheckout({ url: sshUrl(), policy, auth: sshAuth(), dir, log })).commit, head);
    for (const text of await allFiles(join(dir, '.git'))) assertNoSecret(text, 'the checkout .git directory');
  });

  test('a key the server does not accept fails as auth (permission denied), without key material', async () => {
    await rejectsAuth(
      remoteHead({ url: sshUrl(), policy, auth: sshAuth({ sshKey: servers.ssh?.otherKey }), log }),
      /Permission denied/,
    );
    await rejectsAuth(
      remoteHead({ url: sshUrl(), policy, auth: sshAuth({ sshKey: undefined }), log }),
      /Permission denied/,
    );
  });

  test('host keys are checked strictly: a wrong or missing known_hosts entry fails as auth', async () => {
    await rejectsAuth(
      remoteHead({ url: sshUrl(), policy, auth: sshAuth({ knownHosts: servers.ssh?.wrongKnownHosts }), log }),
      /Host key verification failed/,
    );
    await rejectsAuth(
      remoteHead({ url: sshUrl(), policy, auth: sshAuth({ knownHosts: undefined }), log }),
      /Host key verification failed/,
    );
  });

  test("no repository at the path: the message quotes what the server said, not only git's last words", async () => {
    const url = sshUrl().replace(/\/[^/]*$/, '/nope.git');
    let caught: unknown;
    await remoteHead({ url, policy, auth: sshAuth(), log }).catch((e: unknown) => (caught = e));
    assert.ok(caught instanceof GitError, String(caught));
    assert.match(caught.message, /does not appear to be a git repository/);
    assert.match(caught.message, /no repository at this URL/);
  });
});

describe('nothing left behind', () => {
  test('no log line carries a secret, and the logs did record the git commands', () => {
    assert.match(logText, /git command (done|failed)/);
    assertNoSecret(logText, 'the log');
  });

  test('every session file (askpass helper, key, known_hosts) was deleted', () => {
    const serverDir = servers.dir.split('/').pop();
    assert.deepEqual(
      readdirSync(sessionTmp).filter((e) => e !== serverDir),
      [],
    );
  });
});
