import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { httpGet, redirectAllowed } from '@chartsync/sidecar/chart/dependencies';
import { ChartRepoServer } from '../harness/chart-repo-server.ts';
import { tempDir } from '../harness/paths.ts';

describe('bounded HTTP GET for chart repositories', () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let repo: ChartRepoServer;
  let other: ChartRepoServer;
  const auth = { username: 'alice', password: 's3cret' };

  before(async () => {
    tmp = await tempDir('deps-http-');
    await writeFile(join(tmp.path, 'blob.bin'), Buffer.alloc(4096, 7));
    repo = await ChartRepoServer.start({ dir: tmp.path, basePath: '/charts', auth });
    other = await ChartRepoServer.start({ dir: tmp.path });
  });
  after(async () => {
    await repo?.close();
    await other?.close();
    await tmp?.cleanup();
  });

  const opts = (extra = {}) => ({
    timeoutMs: 2000,
    maxBytes: 1 << 20,
    auth,
    authOrigin: new URL(repo.url).origin,
    ...extra,
  });

  test('sends credentials to their origin and returns the body', async () => {
    const body = await httpGet(`${repo.url}/blob.bin`, opts());
    assert.equal(body.length, 4096);
    await assert.rejects(httpGet(`${repo.url}/blob.bin`, opts({ auth: undefined })), /HTTP 401/);
  });

  test('never sends credentials to another origin, even through a redirect', async () => {
    repo.override('elsewhere.bin', { kind: 'redirect', location: `${other.url}/blob.bin` });
    const body = await httpGet(`${repo.url}/elsewhere.bin`, opts());
    assert.equal(body.length, 4096);
    assert.deepEqual(
      other.requestsFor('blob.bin').map((r) => r.authorization),
      [undefined],
    );
  });

  test('refuses redirects to another protocol and URLs that are not http(s)', async () => {
    repo.override('to-file', { kind: 'redirect', location: 'file:///etc/passwd' });
    await assert.rejects(
      httpGet(`${repo.url}/to-file`, opts()),
      /redirect to another protocol \(file:\) refused/,
    );
    // An upgrade to https is followed (here it fails to connect: nothing listens there).
    repo.override('to-https', { kind: 'redirect', location: 'https://127.0.0.1:1/x' });
    await assert.rejects(httpGet(`${repo.url}/to-https`, opts()), /https:\/\/127.0.0.1:1\/x: request failed/);
    await assert.rejects(httpGet('file:///etc/passwd', opts()), /only http and https URLs are allowed/);
    const allowed = (a: string, b: string) => redirectAllowed(new URL(a), new URL(b));
    assert.ok(allowed('http://a/x', 'https://b/y'));
    assert.ok(!allowed('https://a/x', 'http://a/x'), 'no downgrade');
    assert.ok(!allowed('http://a/x', 'file:///etc/passwd'));
    repo.override('loop', { kind: 'redirect', location: `${repo.url}/loop` });
    await assert.rejects(httpGet(`${repo.url}/loop`, opts()), /more than 10 redirects/);
  });

  test('a stalled or never-ending answer fails at the deadline, naming the URL', async () => {
    repo.override('stall.yaml', { kind: 'stall' });
    repo.override('trickle.yaml', { kind: 'trickle', intervalMs: 50 });
    const started = Date.now();
    await assert.rejects(httpGet(`${repo.url}/stall.yaml`, opts({ timeoutMs: 300 })), {
      message: `http://127.0.0.1:${new URL(repo.url).port}/charts/stall.yaml: no complete answer within 300 ms (timed out)`,
    });
    await assert.rejects(httpGet(`${repo.url}/trickle.yaml`, opts({ timeoutMs: 300 })), /timed out/);
    assert.ok(Date.now() - started < 3000);
  });

  test('a body over the size limit is refused', async () => {
    await assert.rejects(
      httpGet(`${repo.url}/blob.bin`, opts({ maxBytes: 1000 })),
      /exceeds the 1000-byte limit/,
    );
    repo.override('big', { kind: 'trickle', intervalMs: 1 });
    await assert.rejects(
      httpGet(`${repo.url}/big`, opts({ maxBytes: 200, timeoutMs: 5000 })),
      /exceeds the 200-byte limit/,
    );
  });

  test('errors never show credentials from the URL', async () => {
    const url = `http://bob:hunter2@127.0.0.1:${new URL(repo.url).port}/charts/missing?token=abc`;
    await assert.rejects(httpGet(url, opts()), (err: Error) => {
      assert.doesNotMatch(err.message, /hunter2|token=abc/);
      assert.match(err.message, /HTTP 404/);
      return true;
    });
  });
});
