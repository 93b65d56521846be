/**
 * Private git repositories through the sidecar API: smart HTTP with basic auth and SSH with a
 * key and known hosts, each with the right and the wrong credentials. Wrong credentials answer
 * 502 with a message naming the repository; no secret shows in answers or logs — nor a token in
 * the URL's query or fragment, which git quotes in its errors.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type FixtureRepo, type GitServers, startGitServers } from '../harness/git-server.ts';
import { tempDir } from '../harness/paths.ts';
import { type SidecarProcess, startSidecarProcess } from '../harness/sidecar.ts';
import { chartFiles } from './fixtures.ts';

const USER = 'sync-bot';
const PASSWORD = 'http-pa55word-9d8e7f';

let tmp: { path: string; cleanup: () => Promise<void> };
let git: GitServers;
let repo: FixtureRepo;
let sidecar: SidecarProcess;

before(async () => {
  tmp = await tempDir('chartsync-private-');
  git = await startGitServers({ http: { auth: { username: USER, password: PASSWORD } }, ssh: true });
  repo = await git.repos.create('private', chartFiles('app', 'app'));
  sidecar = await startSidecarProcess({
    args: ['--storage-dir', join(tmp.path, 'storage'), '--allow-insecure-git'],
  });
});
after(async () => {
  await sidecar?.stop();
  await git?.stop();
  await tmp?.cleanup();
});

function assertNoSecrets(text: string, secrets: string[]): void {
  for (const s of secrets) assert.ok(!text.includes(s), `secret leaked: ${s.slice(0, 12)}…`);
}

async function expectAuthFailure(promise: Promise<unknown>, urlPart: RegExp): Promise<void> {
  await assert.rejects(promise, (err: { status: number; code: string; message: string }) => {
    assert.equal(err.status, 502);
    assert.equal(err.code, 'upstream_failed');
    assert.match(err.message, urlPart);
    return true;
  });
}

describe('HTTPS (smart HTTP with basic auth)', () => {
  test('the right username and password sync the repo', async () => {
    const url = git.http?.url('private') as string;
    const result = await sidecar
      .client()
      .upsertRepo({ name: 'https-ok', git: url, username: USER, password: PASSWORD });
    assert.deepEqual(
      result.charts.map((c) => [c.name, c.action]),
      [['app', 'published']],
    );
  });
  test('credentials inside the URL are taken out of it and kept as credentials', async () => {
    const plain = git.http?.url('private') ?? '';
    const url = plain.replace('http://', `http://${USER}:${PASSWORD}@`);
    const result = await sidecar.client().upsertRepo({ name: 'https-url', git: url });
    assert.equal(result.charts[0]?.action, 'published');
    const view = await sidecar.client().getRepo('https-url');
    assert.equal(view.git, git.http?.url('private'));
    assert.equal(view.hasCredentials, true);
  });
  test('a wrong password fails with 502, the registration stays for a retry', async () => {
    const url = git.http?.url('private') as string;
    await expectAuthFailure(
      sidecar
        .client()
        .upsertRepo({ name: 'https-bad', git: url, username: USER, password: 'wrong-password-123' }),
      /127\.0\.0\.1/,
    );
    const view = await sidecar.client().getRepo('https-bad');
    assert.equal(view.lastSync?.error?.error, 'upstream_failed');
    assertNoSecrets(JSON.stringify(view), ['wrong-password-123']);
  });
});

describe('tokens in the query or fragment of a git URL', () => {
  const QUERY_TOKEN = 'SEKRET4-query-7c1d';
  const FRAGMENT = 'SEKRET4-frag-2b9e';
  const withQuery = (base: string) => `${base}?access_token=${QUERY_TOKEN}#${FRAGMENT}`;

  for (const [what, base, auth] of [
    ['a closed port', () => 'http://127.0.0.1:9/a.git', {}],
    ['the real server', () => git.http?.url('private') as string, { username: USER, password: PASSWORD }],
  ] as const) {
    test(`git's error output quoting the URL (${what}) reaches no answer, status or log line`, async () => {
      const name = `query-${what === 'a closed port' ? 'closed' : 'served'}`;
      // the raw answer, as any client sees it
      const res = await fetch(`${sidecar.url}/repo/new`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name, git: withQuery(base()), ...auth }),
      });
      const answer = await res.text();
      assert.equal(res.status, 502, answer);
      assert.match(answer, /127\.0\.0\.1/, 'the answer names the repository');
      const view = await sidecar.client().getRepo(name);
      assert.equal(view.git, base());
      assert.equal(view.lastSync?.error?.error, 'upstream_failed');
      const failed = sidecar.logs.filter((l) => l.includes('sync failed') && l.includes(name));
      assert.ok(failed.length > 0, 'the failure was logged');
      const texts = [answer, JSON.stringify(view), JSON.stringify(await sidecar.client().listRepos())];
      for (const text of [...texts, sidecar.logs.join('\n')]) assertNoSecrets(text, [QUERY_TOKEN, FRAGMENT]);
    });
  }
});

describe('SSH (key and known hosts)', () => {
  test('the authorized key with the right known_hosts syncs the repo', async () => {
    const ssh = git.ssh as NonNullable<GitServers['ssh']>;
    const result = await sidecar.client().upsertRepo({
      name: 'ssh-ok',
      git: ssh.url(repo.bare),
      sshKey: ssh.clientKey,
      knownHosts: ssh.knownHosts,
    });
    assert.deepEqual(
      result.charts.map((c) => [c.name, c.action]),
      [['app', 'published']],
    );
  });
  test('a key the server does not accept fails with 502', async () => {
    const ssh = git.ssh as NonNullable<GitServers['ssh']>;
    await expectAuthFailure(
      sidecar.client().upsertRepo({
        name: 'ssh-bad-key',
        git: ssh.url(repo.bare),
        sshKey: ssh.otherKey,
        knownHosts: ssh.knownHosts,
      }),
      /127\.0\.0\.1/,
    );
  });
  test('an unknown host key fails with 502', async () => {
    const ssh = git.ssh as NonNullable<GitServers['ssh']>;
    await expectAuthFailure(
      sidecar.client().upsertRepo({
        name: 'ssh-bad-host',
        git: ssh.url(repo.bare),
        sshKey: ssh.clientKey,
        knownHosts: ssh.wrongKnownHosts,
      }),
      /127\.0\.0\.1/,
    );
  });
});

test('no credential appears in any answer or log line', async () => {
  const ssh = git.ssh as NonNullable<GitServers['ssh']>;
  const keyBody = ssh.clientKey.split('\n')[1] as string;
  const answers = JSON.stringify(await sidecar.client().listRepos());
  assertNoSecrets(answers, [PASSWORD, keyBody, 'wrong-password-123']);
  assertNoSecrets(sidecar.logs.join('\n'), [PASSWORD, keyBody, 'wrong-password-123']);
});
