/**
 * Machine reasons on the wire, against the running sidecar: every error body carries a
 * `reason` from the shared vocabulary, git failures get theirs from the git layer's own
 * classification (never from words in the URL or message), and every failed chart of a sync
 * result carries one too.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  type FixtureRepo,
  fileUrl,
  freePort,
  type GitServers,
  startGitServers,
} from '../harness/git-server.ts';
import { tempDir } from '../harness/paths.ts';
import { type SidecarProcess, startSidecarProcess } from '../harness/sidecar.ts';
import { chartFiles } from './fixtures.ts';

const TOKEN = 'reasons-suite-token-1f2e3d';
const USER = 'bot';
const PASSWORD = 'reasons-pa55-7c6b';

let tmp: { path: string; cleanup: () => Promise<void> };
let git: GitServers;
let sidecar: SidecarProcess;
let mixed: FixtureRepo;

before(async () => {
  tmp = await tempDir('chartsync-reasons-');
  git = await startGitServers({ http: { auth: { username: USER, password: PASSWORD } } });
  // "publish" in the repository's URL must not turn a git failure into a publishing one
  await git.repos.create('publish-charts', chartFiles('app', 'app'));
  mixed = await git.repos.create('mixed', {
    ...chartFiles('good', 'good'),
    'bad/Chart.yaml': 'apiVersion: v2\nname: bad\nversion: not-a-version\n',
    'needs-dep/Chart.yaml':
      'apiVersion: v2\nname: needs-dep\nversion: 1.0.0\ndependencies:\n- name: nowhere\n  version: 1.0.0\n  repository: http://127.0.0.1:9/charts\n',
  });
  sidecar = await startSidecarProcess({
    args: ['--storage-dir', join(tmp.path, 'storage'), '--allow-insecure-git', '--allow-local-git'],
    token: TOKEN,
  });
});
after(async () => {
  await sidecar?.stop();
  await git?.stop();
  await tmp?.cleanup();
});

interface Body {
  error?: string;
  message?: string;
  reason?: string;
}

async function call(method: string, path: string, body?: unknown, token = TOKEN) {
  const res = await fetch(`${sidecar.url}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as Body & Record<string, unknown> };
}

function assertReason(a: { status: number; body: Body }, status: number, reason: string): void {
  assert.equal(a.status, status, JSON.stringify(a.body));
  assert.equal(a.body.reason, reason, JSON.stringify(a.body));
}

describe('git failures carry the reason of their class', () => {
  test('a wrong password on a repo whose URL says "publish" is GitAuthFailed, also in GET /repo/:name', async () => {
    const url = git.http?.url('publish-charts') as string;
    assert.match(url, /publish/);
    const a = await call('POST', '/repo/new', {
      name: 'publisher-auth',
      git: url,
      username: USER,
      password: 'wrong-password-42',
    });
    assertReason(a, 502, 'GitAuthFailed');
    assert.equal(a.body.error, 'upstream_failed');
    const view = await call('GET', '/repo/publisher-auth');
    assert.equal((view.body.lastSync as { error: Body }).error.reason, 'GitAuthFailed');
  });

  test('no credentials at all is GitAuthFailed too', async () => {
    const a = await call('POST', '/repo/new', { name: 'no-creds', git: git.http?.url('publish-charts') });
    assertReason(a, 502, 'GitAuthFailed');
  });

  test('nothing listening is GitUnreachable', async () => {
    const port = await freePort();
    const a = await call('POST', '/repo/new', {
      name: 'unreachable',
      git: `http://127.0.0.1:${port}/publish.git`,
    });
    assertReason(a, 502, 'GitUnreachable');
  });

  test('a branch the repo does not have is RefNotFound', async () => {
    const repo = await git.repos.create('refs', chartFiles('app', 'app'));
    const a = await call('POST', '/repo/new', { name: 'no-ref', git: fileUrl(repo), ref: 'no-such-branch' });
    assertReason(a, 502, 'RefNotFound');
  });

  test('a refused transport is InvalidInput (400, before git runs)', async () => {
    const a = await call('POST', '/repo/new', { name: 'helper', git: 'ext::sh -c id' });
    assertReason(a, 400, 'InvalidInput');
  });
});

describe('every error body has a reason', () => {
  test('401, 404, 400 and unknown routes', async () => {
    assertReason(await call('GET', '/repo', undefined, ''), 401, 'Unauthorized');
    assertReason(await call('GET', '/repo', undefined, 'wrong'), 401, 'Unauthorized');
    assertReason(await call('GET', '/repo/not-there'), 404, 'NotFound');
    assertReason(await call('GET', '/no/such/route'), 404, 'NotFound');
    assertReason(
      await call('POST', '/repo/new', { name: 'Bad_Name', git: 'https://x.example/r' }),
      400,
      'InvalidInput',
    );
  });
  test('a body over the limit is PayloadTooLarge', async () => {
    const a = await call('POST', '/repo/new', {
      name: 'big',
      git: 'https://x.example/r',
      knownHosts: 'x'.repeat(2_000_000),
    });
    assertReason(a, 413, 'PayloadTooLarge');
  });
});

describe('every failed chart has a reason', () => {
  test('invalid chart and unresolvable dependency are told apart; the good chart publishes', async () => {
    const a = await call('POST', '/repo/new', { name: 'mixed', git: fileUrl(mixed) });
    assert.equal(a.status, 200, JSON.stringify(a.body));
    const charts = (a.body.charts as { name: string; action: string; reason?: string }[]).map((c) => [
      c.name,
      c.action,
      c.reason,
    ]);
    assert.deepEqual(charts, [
      ['bad', 'failed', 'InvalidChart'],
      ['good', 'published', undefined],
      ['needs-dep', 'failed', 'DependencyUnresolved'],
    ]);
    // the same commit again: the reasons survive the no-change answer
    const again = await call('POST', '/repo/mixed/update');
    const reasons = (again.body.charts as { name: string; reason?: string }[]).map((c) => c.reason ?? '-');
    assert.deepEqual(reasons, ['InvalidChart', '-', 'DependencyUnresolved']);
  });
});
