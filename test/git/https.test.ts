/**
 * Git over real HTTPS (TLS with a throwaway CA) under the default policy: credentials work and
 * are checked, the CA is taken from GIT_SSL_CAINFO, ambient settings that would weaken TLS do not
 * reach git, and a redirect down to plain HTTP is not followed (nor are credentials sent there).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { GitError, remoteHead, syncCheckout } from '@chartsync/sidecar/git';
import {
  type Cert,
  type FixtureRepo,
  type GitServers,
  type HttpGitServer,
  selfSignedCert,
  startGitServers,
  startHttpGitServer,
} from '../harness/git-server.ts';

const policy = { allowLocal: false, allowInsecure: false };
const auth = { username: 'reader', password: 'tls-Pa55word-9f8e7d' };
let servers: GitServers;
let cert: Cert;
let https: HttpGitServer;
let plain: HttpGitServer;
let downgrade: HttpGitServer;
let repo: FixtureRepo;

before(async () => {
  servers = await startGitServers();
  cert = await selfSignedCert(servers.dir);
  repo = await servers.repos.create('tls', { 'charts/a/Chart.yaml': 'name: a\n' });
  https = await startHttpGitServer(servers.repos.path, { tls: cert, auth });
  plain = await startHttpGitServer(servers.repos.path, { auth });
  downgrade = await startHttpGitServer(servers.repos.path, {
    tls: cert,
    redirect: (path) => `http://127.0.0.1:${plain.port}${path}`,
  });
  process.env.GIT_SSL_CAINFO = cert.certPath;
});
after(async () => {
  await Promise.all([https?.stop(), plain?.stop(), downgrade?.stop()]);
  await servers?.stop();
});

describe('HTTPS', () => {
  test('the default policy (no insecure, no local) checks out over HTTPS with basic auth', async () => {
    assert.match(https.url('tls'), /^https:/);
    const head = await repo.head();
    assert.equal(await remoteHead({ url: https.url('tls'), policy, auth }), head);
    const res = await syncCheckout({ url: https.url('tls'), policy, auth, dir: join(servers.dir, 'co') });
    assert.equal(res.commit, head);
  });

  test('a wrong password over HTTPS is an auth error without the secret', async () => {
    await assert.rejects(
      remoteHead({ url: https.url('tls'), policy, auth: { ...auth, password: 'wrong-one' } }),
      (e: unknown) => e instanceof GitError && e.kind === 'auth' && !e.message.includes('wrong-one'),
    );
  });

  test('an untrusted certificate fails, and an ambient GIT_SSL_NO_VERIFY does not switch checks off', async () => {
    delete process.env.GIT_SSL_CAINFO;
    process.env.GIT_SSL_NO_VERIFY = '1';
    try {
      await assert.rejects(
        remoteHead({ url: https.url('tls'), policy, auth }),
        (e: unknown) => e instanceof GitError && /TLS certificate is not trusted/.test(e.message),
      );
    } finally {
      delete process.env.GIT_SSL_NO_VERIFY;
      process.env.GIT_SSL_CAINFO = cert.certPath;
    }
  });

  test('a redirect from HTTPS down to plain HTTP is not followed and sends nothing there', async () => {
    await assert.rejects(
      remoteHead({ url: downgrade.url('tls'), policy: { allowLocal: false, allowInsecure: true }, auth }),
      (e: unknown) => e instanceof GitError && /redirects are not followed/.test(e.message),
    );
    assert.deepEqual(plain.requests, []);
  });
});
