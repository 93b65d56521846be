/**
 * The no-change check is one `git ls-remote`: one git process, one ref advertisement request
 * and one ls-refs request over smart HTTP, and no network at all for a full commit id. Its
 * duration over HTTP is measured and reported as a test diagnostic.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { remoteHead } from '@chartsync/sidecar/git';
import {
  type FixtureRepo,
  fixtureGit,
  type GitServers,
  startGitServers,
  startHttpGitServer,
} from '../harness/git-server.ts';
import { captureLog } from '../harness/log-capture.ts';

const policy = { allowLocal: false, allowInsecure: true };
let servers: GitServers;
let repo: FixtureRepo;

before(async () => {
  servers = await startGitServers({ http: true });
  repo = await servers.repos.create('measured', { 'charts/a/Chart.yaml': 'name: a\n' });
  // many refs the check must not pay for: it asks only for what the name can mean
  const pulls = Array.from({ length: 200 }, (_, i) => `HEAD:refs/pull/${i}/head`);
  await fixtureGit(['push', '-q', 'origin', ...pulls], repo.work);
});
after(async () => {
  await servers?.stop();
});

test('a no-change check runs exactly one git ls-remote and two HTTP requests', async () => {
  const http = servers.http;
  assert.ok(http);
  const { log, lines } = captureLog();
  const before = http.requests.length;
  assert.equal(await remoteHead({ url: http.url('measured'), ref: 'main', policy, log }), await repo.head());
  await new Promise((r) => setImmediate(r));
  const commands = lines.filter((l) => l.git !== undefined);
  assert.equal(commands.length, 1, JSON.stringify(commands));
  assert.match(
    commands[0]?.git ?? '',
    /^ls-remote --heads --tags -- http:\/\/127\.0\.0\.1:\d+\/measured\.git refs\/tags\/main/,
  );
  const served = http.requests.slice(before).map((r) => `${r.method} ${r.path.replace(/\?.*/, '')}`);
  assert.deepEqual(served, ['GET /measured.git/info/refs', 'POST /measured.git/git-upload-pack']);
});

test('a full commit id needs no git command and no request', async () => {
  const http = servers.http;
  assert.ok(http);
  const { log, lines } = captureLog();
  const before = http.requests.length;
  const sha = await repo.head();
  assert.equal(await remoteHead({ url: http.url('measured'), ref: sha, policy, log }), sha);
  assert.equal(http.requests.length, before);
  assert.equal(lines.filter((l) => l.git !== undefined).length, 0);
});

async function measure(
  url: string,
  auth?: { username: string; password: string },
): Promise<{ median: number; p90: number; min: number }> {
  await remoteHead({ url, ref: 'main', policy, auth });
  const ms: number[] = [];
  for (let i = 0; i < 20; i++) {
    const t0 = performance.now();
    await remoteHead({ url, ref: 'main', policy, auth });
    ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  return { median: ms[10] ?? 0, p90: ms[18] ?? 0, min: ms[0] ?? 0 };
}

const fmt = (m: { median: number; p90: number; min: number }) =>
  `median ${m.median.toFixed(1)} ms, p90 ${m.p90.toFixed(1)} ms, min ${m.min.toFixed(1)} ms`;

test('duration of the no-change check over smart HTTP, anonymous and with basic auth (20 runs each)', async (t) => {
  const anonymous = await measure(servers.http?.url('measured') ?? '');
  t.diagnostic(`remoteHead over smart HTTP, anonymous: ${fmt(anonymous)}`);
  const auth = { username: 'reader', password: 'measure-pw' };
  const privateServer = await startHttpGitServer(servers.repos.path, { auth });
  try {
    const withAuth = await measure(privateServer.url('measured'), auth);
    t.diagnostic(`remoteHead over smart HTTP, basic auth: ${fmt(withAuth)}`);
    assert.equal(privateServer.requests.length, 2 * 21, 'two requests per check, no 401 round trip');
    // generous bounds for a loaded 2-core CI machine; the measured values are reported above
    assert.ok(withAuth.median < 1000, `median ${withAuth.median} ms`);
  } finally {
    await privateServer.stop();
  }
  assert.ok(anonymous.median < 1000, `median ${anonymous.median} ms`);
});
