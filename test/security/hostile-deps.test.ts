/**
 * Hostile dependency repositories reached by a real sync through the running sidecar: each
 * chart of one git repository depends on `dep` from a chart repository of its own, and each of
 * those repositories misbehaves in one way (index URLs with `../` or file://, archives with
 * `../`, absolute or link entries, a decompression bomb, a digest mismatch, an index that never
 * ends, an archive that trickles forever, redirects to file: and to another origin). Each chart
 * fails naming its dependency and the problem; the charts with a sane dependency are published;
 * the dependency cache holds only verified archives; nothing outside storage is touched.
 *
 * "Internal addresses": chartsync does not filter destination addresses (every server here is
 * on 127.0.0.1, and a chart repository inside the cluster is a normal case). What it enforces is
 * the protocol (http/https only, no downgrade, at most 10 redirects) and that credentials go to
 * the registered origin only, never to where a redirect or an index points. Egress to internal
 * addresses is for the chart's NetworkPolicy to restrict.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { writeChart } from '../deps/fixtures.ts';
import { rawTarGz } from '../harness/chart-fixtures.ts';
import { ChartRepoServer } from '../harness/chart-repo-server.ts';
import { fileUrl } from '../harness/git-server.ts';
import { Helm } from '../harness/helm.ts';
import { chartFiles } from '../sidecar/fixtures.ts';
import { assertOutsideUntouched, filesContaining, snapshot, startWorld, type World } from './world.ts';

const DEP_CHART_YAML = 'apiVersion: v2\nname: dep\nversion: 1.0.0\n';
const CRED = { username: 'dep-user', password: 'dep-pass-4c7e1b' };

type Case = {
  /** Chart dir in git (sorted: the slow cases first, so they start at once). */
  chart: string;
  /** Makes the repository hostile (after it serves a good `dep` 1.0.0). */
  spoil?: (repo: ChartRepoServer) => Promise<void>;
  error?: RegExp;
  auth?: boolean;
};

/** Replaces dep-1.0.0.tgz by `data` and makes the index's digest match it (so only the loader stands). */
async function serveArchive(repo: ChartRepoServer, data: Buffer): Promise<void> {
  await writeFile(join(repo.dir, 'dep-1.0.0.tgz'), data);
  const digest = createHash('sha256').update(data).digest('hex');
  await repo.rewriteIndex((index) => {
    for (const v of index.entries.dep ?? []) v.digest = digest;
  });
}
const setUrl = (url: string) => (repo: ChartRepoServer) =>
  repo.rewriteIndex((index) => {
    for (const v of index.entries.dep ?? []) v.urls = [url];
  });

let elsewhere: ChartRepoServer;

const CASES: Case[] = [
  {
    chart: 'a-stall',
    spoil: async (r) => r.override('index.yaml', { kind: 'stall' }),
    error: /index\.yaml: no complete answer within 60000 ms \(timed out\)/,
  },
  {
    chart: 'a-trickle',
    spoil: async (r) => r.override('dep-1.0.0.tgz', { kind: 'trickle', intervalMs: 200 }),
    error: /dep-1\.0\.0\.tgz: no complete answer within 60000 ms \(timed out\)/,
  },
  {
    chart: 'b-dotdot-url',
    spoil: setUrl('../../../etc/passwd'),
    error: /refused URL '\.\.\/\.\.\/\.\.\/etc\/passwd': '\.\.' path segments are not allowed/,
  },
  {
    chart: 'b-dotdot-url2',
    spoil: setUrl('charts/%2e%2e/%2e%2e/secret.tgz'),
    error: /refused URL 'charts\/%2e%2e\/%2e%2e\/secret\.tgz': '\.\.' path segments/,
  },
  {
    chart: 'b-file-url',
    spoil: setUrl('file:///etc/passwd'),
    error: /refused URL 'file:\/\/\/etc\/passwd': only http\(s\) URLs are allowed/,
  },
  {
    chart: 'c-dotdot-entry',
    spoil: (r) =>
      serveArchive(
        r,
        rawTarGz([
          { path: 'dep/Chart.yaml', data: DEP_CHART_YAML },
          { path: 'dep/../../../outside/pwned', data: 'x' },
        ]),
      ),
    error: /dep\/\.\.\/\.\.\/\.\.\/outside\/pwned: archive entry references the parent directory/,
  },
  {
    chart: 'c-absolute-entry',
    spoil: (r) =>
      serveArchive(
        r,
        rawTarGz([
          { path: 'dep/Chart.yaml', data: DEP_CHART_YAML },
          { path: '/tmp/pwned', data: 'x' },
        ]),
      ),
    error: /\/tmp\/pwned: archive entry has an absolute path/,
  },
  {
    chart: 'c-symlink-entry',
    spoil: (r) =>
      serveArchive(
        r,
        rawTarGz([
          { path: 'dep/Chart.yaml', data: DEP_CHART_YAML },
          { path: 'dep/templates/passwd.yaml', type: 'SymbolicLink', linkpath: '/etc/passwd' },
        ]),
      ),
    error: /templates\/passwd\.yaml: archive contains a link entry/,
  },
  {
    chart: 'c-hardlink-entry',
    spoil: (r) =>
      serveArchive(
        r,
        rawTarGz([
          { path: 'dep/Chart.yaml', data: DEP_CHART_YAML },
          { path: 'dep/values.yaml', type: 'Link', linkpath: '/etc/passwd' },
        ]),
      ),
    error: /values\.yaml: archive contains a link entry/,
  },
  {
    chart: 'd-bomb',
    spoil: async (r) => {
      // 120 MiB of zeros in one entry, about 120 KiB on the wire
      const zeros = Buffer.alloc(120 * 1024 * 1024);
      await serveArchive(
        r,
        rawTarGz([
          { path: 'dep/Chart.yaml', data: DEP_CHART_YAML },
          { path: 'dep/z', data: zeros },
        ]),
      );
    },
    error: /decompressed chart is larger than the maximum size 104857600/,
  },
  {
    chart: 'd-not-gzip',
    spoil: (r) => serveArchive(r, gzipSync(Buffer.from('not a tar at all')).subarray(0, 10)),
    error: /corrupt gzip data/,
  },
  {
    chart: 'e-digest',
    spoil: (r) =>
      r.rewriteIndex((index) => {
        for (const v of index.entries.dep ?? []) v.digest = 'a'.repeat(64);
      }),
    error: /digest mismatch: the index says sha256:a{12}/,
  },
  {
    chart: 'e-index-bomb',
    spoil: async (r) => {
      const lines = ['apiVersion: v1', 'l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
      for (let i = 1; i < 10; i++)
        lines.push(
          `l${i}: &l${i} [${Array(9)
            .fill(`*l${i - 1}`)
            .join(',')}]`,
        );
      lines.push('entries: {}');
      r.override('index.yaml', { kind: 'body', data: `${lines.join('\n')}\n` });
    },
    error: /index\.yaml.*(alias|too many)/i,
  },
  {
    chart: 'e-index-huge',
    spoil: async (r) =>
      r.override('index.yaml', { kind: 'body', data: Buffer.alloc(65 * 1024 * 1024, 0x23) }),
    error: /index\.yaml: response (of \d+ bytes )?exceeds the 67108864-byte limit/,
  },
  {
    chart: 'f-redirect-file',
    spoil: async (r) => r.override('dep-1.0.0.tgz', { kind: 'redirect', location: 'file:///etc/passwd' }),
    error: /redirect to another protocol \(file:\) refused/,
  },
  {
    chart: 'f-redirect-ftp',
    spoil: async (r) =>
      r.override('index.yaml', { kind: 'redirect', location: 'ftp://127.0.0.1/index.yaml' }),
    error: /redirect to another protocol \(ftp:\) refused/,
  },
  {
    // A registered repository with credentials whose archive redirects to another origin (an
    // "internal address"): followed, since it is http, but the credentials stay home.
    chart: 'g-redirect-elsewhere',
    auth: true,
    spoil: async (r) =>
      r.override('dep-1.0.0.tgz', { kind: 'redirect', location: `${elsewhere.url}/dep-1.0.0.tgz` }),
  },
  { chart: 'h-good' },
];

let w: World;
const repos = new Map<string, ChartRepoServer>();
let result: { status: number; text: string; charts: { name: string; action: string; error?: string }[] };
let syncMs = 0;

before(async () => {
  w = await startWorld({ args: ['--allow-local-git'] });
  const helm = new Helm(join(w.root, 'helm'));
  const src = await writeChart(join(w.root, 'helm/src/dep'), { name: 'dep', version: '1.0.0' });
  const good = await helm.packageTo(src, join(w.root, 'helm/pkg'));
  const serve = async (name: string, auth?: boolean) => {
    const dir = join(w.root, 'deprepos', name);
    await mkdir(dir, { recursive: true });
    await copyFile(good, join(dir, 'dep-1.0.0.tgz'));
    return ChartRepoServer.start({ dir, ...(auth ? { auth: CRED } : {}) });
  };
  elsewhere = await serve('elsewhere');
  const files: Record<string, string> = {};
  for (const c of CASES) {
    const repo = await serve(c.chart, c.auth);
    repos.set(c.chart, repo);
    await c.spoil?.(repo);
    if (c.auth) {
      const reg = await w.api('POST', '/repo/dependency', {
        json: { name: 'private', url: repo.url, ...CRED },
      });
      assert.equal(reg.status, 200, reg.text);
    }
    Object.assign(
      files,
      chartFiles(`charts/${c.chart}`, c.chart, {
        dependencies: [{ name: 'dep', version: '1.0.0', repository: repo.url }],
      }),
    );
  }
  Object.assign(files, chartFiles('charts/plain', 'plain'));
  const git = await w.git.repos.create('withdeps', files);
  const started = Date.now();
  const a = await w.api('POST', '/repo/new', { json: { name: 'withdeps', git: fileUrl(git) } });
  syncMs = Date.now() - started;
  result = { status: a.status, text: a.text, charts: (a.json.charts ?? []) as typeof result.charts };
});
after(async () => {
  for (const r of repos.values()) await r.close();
  await elsewhere?.close();
  await w?.stop();
});

describe('hostile dependency repositories', () => {
  const bad = CASES.filter((c) => c.error);

  test(`${bad.length} charts with a hostile dependency fail naming the dependency and the problem`, () => {
    assert.equal(result.status, 200, result.text);
    const byDir = Object.fromEntries(result.charts.map((c) => [c.name, c]));
    for (const c of bad) {
      const r = byDir[c.chart] ?? byDir[`charts/${c.chart}`]; // declared name, or the dir
      assert.equal(r?.action, 'failed', `${c.chart}: ${JSON.stringify(r)}`);
      assert.match(r?.error ?? '', /dep/, c.chart);
      assert.match(r?.error ?? '', c.error as RegExp, c.chart);
    }
  });

  test('the charts with a sane dependency (or none) are published, the slow ones did not hold them hostage', () => {
    const published = result.charts.filter((c) => c.action === 'published').map((c) => c.name);
    assert.deepEqual(published.sort(), ['g-redirect-elsewhere', 'h-good', 'plain']);
    assert.ok(syncMs < 120_000, `the sync ended after the timeouts (${syncMs} ms)`);
  });

  test('a redirect to another origin is followed without the credentials', () => {
    const home = repos.get('g-redirect-elsewhere') as ChartRepoServer;
    assert.ok(home.requestsFor('index.yaml').every((r) => r.authorization?.startsWith('Basic ')));
    const there = elsewhere.requestsFor('dep-1.0.0.tgz');
    assert.equal(there.length, 1);
    assert.equal(there[0]?.authorization, undefined, 'no credentials to the other origin');
  });

  test('no request ever left for a file: or ftp: location, and no ../ path reached a server', () => {
    for (const r of repos.values())
      for (const req of r.requests) assert.doesNotMatch(req.path, /\.\.|passwd/);
  });

  test('storage holds only the published archives; the cache only verified archives; nothing outside', async () => {
    const stored = Object.keys(await snapshot(join(w.storage, 'withdeps'))).sort();
    assert.deepEqual(stored, [
      'g-redirect-elsewhere-1.0.0.tgz',
      'h-good-1.0.0.tgz',
      'index.yaml',
      'plain-1.0.0.tgz',
    ]);
    // The cache is content-addressed: every file is `<its own sha256>.tgz`, nothing unpacked.
    for (const [rel, kind] of Object.entries(await snapshot(join(w.data, 'cache')))) {
      if (kind === 'dir') continue;
      const sha = createHash('sha256')
        .update(await readFile(join(w.data, 'cache', rel)))
        .digest('hex');
      assert.match(rel, new RegExp(`(^|/)${sha}\\.tgz$`), `cache entry ${rel}`);
    }
    await assertOutsideUntouched(w);
    assert.deepEqual(await filesContaining(w.storage, CRED.password), []);
    assert.deepEqual(await filesContaining(w.data, CRED.password, ['registry.json']), []);
    assert.doesNotMatch(w.sidecar.logs.join('\n'), new RegExp(CRED.password));
    assert.doesNotMatch(result.text, new RegExp(CRED.password));
  });
});
