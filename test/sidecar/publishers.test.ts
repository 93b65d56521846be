/**
 * Publisher edge cases: the ChartMuseum publisher retries 5xx answers with backoff and gives up
 * on 4xx at once, against the ChartMuseum stand-in behind a proxy that fails on demand; the local
 * publisher never writes outside the repo directory.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { packageChartToFile, type StagedChart } from '@chartsync/sidecar';
import { ChartMuseumPublisher, LocalPublisher } from '@chartsync/sidecar/publish';
import { ChartMuseumApi } from '../harness/chartmuseum-api.ts';
import { tempDir } from '../harness/paths.ts';
import { chartFiles } from './fixtures.ts';

let tmp: { path: string; cleanup: () => Promise<void> };
let museum: ChartMuseumApi;
let proxy: Server;
let proxyUrl: string;
/** Statuses the proxy answers with before passing requests through. */
const failures: number[] = [];
let seen = 0;
let pkg: StagedChart;

before(async () => {
  tmp = await tempDir('chartsync-publishers-');
  museum = await new ChartMuseumApi({ root: join(tmp.path, 'museum'), username: 'u', password: 'p' }).start();
  proxy = createServer((req, res) => {
    seen++;
    const status = failures.shift();
    if (status) {
      res
        .writeHead(status, { 'content-type': 'application/json' })
        .end(JSON.stringify({ error: `injected ${status}` }));
      return;
    }
    const upstream = request(
      `${museum.url}${req.url}`,
      { method: req.method, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 500, up.headers);
        up.pipe(res);
      },
    );
    req.pipe(upstream);
  });
  proxy.listen(0, '127.0.0.1');
  await once(proxy, 'listening');
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  const src = join(tmp.path, 'src');
  for (const [path, content] of Object.entries(chartFiles('app', 'app'))) {
    await mkdir(join(src, path, '..'), { recursive: true });
    await writeFile(join(src, path), content);
  }
  pkg = await packageChartToFile(
    join(src, 'app'),
    { mtime: new Date('2024-01-01T00:00:00Z') },
    join(tmp.path, 'app.tgz'),
  );
});
after(async () => {
  proxy?.closeAllConnections();
  proxy?.close();
  await museum?.stop();
  await tmp?.cleanup();
});

const fast = { retries: 3, baseDelayMs: 10, maxDelayMs: 50 };

test('5xx answers are retried with backoff until ChartMuseum answers', async () => {
  const publisher = new ChartMuseumPublisher({ url: proxyUrl, username: 'u', password: 'p', retry: fast });
  failures.push(503, 502);
  seen = 0;
  const { failed } = await publisher.apply('r1', [pkg], []);
  assert.equal(failed.size, 0);
  assert.equal(seen, 3, 'two failures, then the upload');
  assert.deepEqual(
    (await publisher.list('r1')).map((v) => `${v.name}@${v.version}`),
    ['app@1.0.0'],
  );
});

test('a 4xx answer is not retried and names the target, the call and the reason', async () => {
  const publisher = new ChartMuseumPublisher({
    url: proxyUrl,
    username: 'u',
    password: 'wrong',
    retry: fast,
  });
  seen = 0;
  const { failed } = await publisher.apply('r2', [pkg], []);
  assert.equal(seen, 1);
  assert.match(
    failed.get('app@1.0.0')?.message ?? '',
    /^chartmuseum http:\/\/127\.0\.0\.1:\d+: POST \/api\/r2\/charts: 401 unauthorized$/,
  );
});

test('credentials in the ChartMuseum URL are used and never shown', async () => {
  const publisher = new ChartMuseumPublisher({
    url: proxyUrl.replace('http://', 'http://u:p@'),
    retry: fast,
  });
  assert.equal(publisher.target, `chartmuseum ${proxyUrl}`);
  assert.equal((await publisher.list('r1')).length, 1);
});

test('the local publisher refuses archive names that would leave the repo directory', async () => {
  const root = join(tmp.path, 'local');
  const publisher = new LocalPublisher(root);
  const evil = { ...pkg, fileName: '../escape.tgz' };
  const { failed } = await publisher.apply('r', [evil], []);
  assert.match(failed.get('app@1.0.0')?.message ?? '', /refusing archive name/);
  assert.equal(existsSync(join(root, 'escape.tgz')), false);
});

test("a 200 answer that is not ChartMuseum's chart list fails as a publishing error naming the call", async () => {
  const bodies = ['<html>login</html>', '[]', '{"error":"x"}', '{"app":[{"version":"1.0.0"}]}', 'null'];
  let next = '';
  const impostor = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end(next);
  });
  impostor.listen(0, '127.0.0.1');
  await once(impostor, 'listening');
  try {
    const url = `http://127.0.0.1:${(impostor.address() as AddressInfo).port}`;
    const publisher = new ChartMuseumPublisher({ url, retry: fast });
    for (const body of bodies) {
      next = body;
      await assert.rejects(publisher.list('r1'), (err: Error) => {
        assert.equal(err.name, 'PublishError', `${body}: ${err.name} ${err.message}`);
        assert.match(err.message, /^chartmuseum http:\/\/127\.0\.0\.1:\d+: GET \/api\/r1\/charts: /);
        return true;
      });
    }
    next = '{}';
    assert.deepEqual(await publisher.list('r1'), []);
  } finally {
    impostor.closeAllConnections();
    impostor.close();
  }
});
