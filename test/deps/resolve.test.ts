/**
 * Resolution behaviour beyond what helm does, against a real chart repository: mirrors,
 * digest verification, hostile indexes, slow repositories, the archive cache, vendored charts
 * used as is, one index fetch per run, reproducible output.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, beforeEach, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { type PackageOptions, packageChart } from '@chartsync/sidecar';
import { createLogger } from '@chartsync/sidecar/log';
import { Header } from 'tar';
import { parse } from 'yaml';
import type { ChartRepoServer } from '../harness/chart-repo-server.ts';
import { Helm } from '../harness/helm.ts';
import { tempDir } from '../harness/paths.ts';
import { chartsyncPackage, entries, helmPackage, lockedVersions, MTIME } from './compare.ts';
import { type ChartSpec, startRepo, writeChart } from './fixtures.ts';

const PUBLIC = 'https://charts.example.invalid/public';

describe('dependency resolution: mirrors, integrity, hostile and slow repositories, caching', () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let helm: Helm;
  let repo: ChartRepoServer;
  let n = 0;
  const newChart = (spec: Partial<ChartSpec> & { dependencies: ChartSpec['dependencies'] }) =>
    writeChart(join(tmp.path, 'charts', `${n++}`, 'app'), { name: 'app', version: '1.0.0', ...spec });
  const redis = (version = '^1.0', repository?: string) => [
    { name: 'redis', version, repository: repository ?? repo.url },
  ];

  before(async () => {
    tmp = await tempDir('deps-resolve-');
    helm = new Helm(join(tmp.path, 'home'));
    repo = await startRepo(helm, tmp.path, join(tmp.path, 'repo'), [
      { name: 'redis', version: '1.0.0' },
      { name: 'redis', version: '1.1.0' },
    ]);
    await helm.addRepo('local', repo.url);
  });
  beforeEach(async () => {
    repo.clearOverrides();
    await repo.buildIndex();
    repo.requests.length = 0;
  });
  after(async () => {
    await repo?.close();
    await tmp?.cleanup();
  });

  test('a mirror answers for the public URL; the lock keeps the public URL', async () => {
    const dir = await newChart({ dependencies: redis('^1.0', PUBLIC) });
    const ours = await chartsyncPackage(dir, {
      repositories: [{ name: 'mirror', url: repo.url, mirrorOf: PUBLIC }],
    });
    const lock = parse(entries(ours).get('app/Chart.lock')?.toString() ?? '');
    assert.deepEqual(lock.dependencies, [{ name: 'redis', repository: PUBLIC, version: '1.1.0' }]);
    // The subchart is what helm fetches from the mirror when told its URL directly.
    const direct = await newChart({ dependencies: redis('^1.0') });
    const helms = entries(await helmPackage(helm, direct, tmp.path, 'update'));
    const ourFiles = entries(ours);
    const sub = (m: Map<string, Buffer>) => [...m].filter(([k]) => k.startsWith('app/charts/'));
    assert.deepEqual(sub(ourFiles), sub(helms));
    // Without the mirror, the public URL is tried (and does not resolve here).
    await assert.rejects(
      chartsyncPackage(dir, { repositories: [], dependencyTimeoutMs: 5000 }),
      /charts\.example\.invalid/,
    );
  });

  test('absolute archive URLs in the index (helm repo index --url) are followed', async () => {
    await repo.buildIndex(true);
    const index = await readFile(join(repo.dir, 'index.yaml'), 'utf8');
    assert.match(index, new RegExp(`- ${repo.url}/redis-1.1.0.tgz`));
    const ours = await chartsyncPackage(await newChart({ dependencies: redis() }));
    assert.deepEqual(lockedVersions(ours, 'app'), ['1.1.0']);
    assert.deepEqual(
      repo.requests.map((r) => r.path),
      ['/index.yaml', '/redis-1.1.0.tgz'],
    );
  });

  test('an archive whose digest does not match the index is refused', async () => {
    await repo.rewriteIndex((index) => {
      for (const e of index.entries.redis ?? []) e.digest = 'f'.repeat(64);
    });
    const dir = await newChart({ dependencies: redis() });
    await assert.rejects(
      chartsyncPackage(dir),
      /chart app: Chart.yaml: dependency 'redis' \(\^1.0 from http:\/\/127.0.0.1:\d+\): http:\/\/127.0.0.1:\d+\/redis-1.1.0.tgz: digest mismatch: the index says sha256:f{64}, the download is sha256:[0-9a-f]{64}/,
    );
  });

  test('a digest written as sha256:<hex> is checked too', async () => {
    await repo.rewriteIndex((index) => {
      for (const e of index.entries.redis ?? []) e.digest = `sha256:${e.digest}`;
    });
    const ours = await chartsyncPackage(await newChart({ dependencies: redis() }));
    assert.deepEqual(lockedVersions(ours, 'app'), ['1.1.0']);
    await repo.rewriteIndex((index) => {
      for (const e of index.entries.redis ?? []) e.digest = `sha256:${'0'.repeat(64)}`;
    });
    await assert.rejects(chartsyncPackage(await newChart({ dependencies: redis() })), /digest mismatch/);
  });

  test('a downloaded archive with a ../ entry or a link is refused by the safe loader', async () => {
    const chartYaml = Buffer.from('apiVersion: v2\nname: redis\nversion: 1.1.0\n');
    const evil: [Buffer, string][] = [
      [
        tgz([
          { path: 'redis/Chart.yaml', data: chartYaml },
          { path: 'redis/../../escape.txt', data: Buffer.from('x') },
        ]),
        String.raw`\.\./\.\./escape\.txt: archive entry references the parent directory`,
      ],
      [
        tgz([
          { path: 'redis/Chart.yaml', data: chartYaml },
          { path: 'redis/templates/x.yaml', linkpath: '/etc/passwd' },
        ]),
        'templates/x.yaml: archive contains a link entry',
      ],
    ];
    for (const [archive, expected] of evil) {
      const digest = createHash('sha256').update(archive).digest('hex');
      await repo.rewriteIndex((index) => {
        for (const e of index.entries.redis ?? []) e.digest = digest;
      });
      repo.override('redis-1.1.0.tgz', { kind: 'body', data: archive });
      await assert.rejects(
        chartsyncPackage(await newChart({ dependencies: redis() })),
        new RegExp(
          `dependency 'redis' \\(\\^1.0 from [^)]*\\): chart [^ ]*/redis-1.1.0.tgz: redis/${expected}`,
        ),
      );
    }
  });

  test('index entries with ../ or file:// URLs are refused, never fetched', async () => {
    for (const url of ['../../etc/passwd', 'file:///etc/passwd', 'charts/../../x.tgz']) {
      await repo.buildIndex();
      await repo.rewriteIndex((index) => {
        for (const e of index.entries.redis ?? []) e.urls = [url];
      });
      const dir = await newChart({ dependencies: redis() });
      await assert.rejects(chartsyncPackage(dir), /index entry redis 1.1.0 has a refused URL/, url);
    }
    assert.deepEqual(
      repo.requests.map((r) => r.path),
      ['/index.yaml', '/index.yaml', '/index.yaml'],
    );
  });

  test('a repository that stalls or never finishes fails with a clear timeout', async () => {
    repo.override('index.yaml', { kind: 'stall' });
    const dir = await newChart({ dependencies: redis() });
    const started = Date.now();
    await assert.rejects(
      chartsyncPackage(dir, { dependencyTimeoutMs: 400 }),
      /index.yaml: no complete answer within 400 ms \(timed out\)/,
    );
    repo.override('index.yaml', { kind: 'trickle', intervalMs: 50 });
    await assert.rejects(chartsyncPackage(dir, { dependencyTimeoutMs: 400 }), /timed out/);
    repo.clearOverrides();
    repo.override('redis-1.1.0.tgz', { kind: 'stall' });
    await assert.rejects(
      chartsyncPackage(dir, { dependencyTimeoutMs: 400 }),
      /redis-1\.1\.0\.tgz: no complete answer within 400 ms \(timed out\)/,
    );
    assert.ok(Date.now() - started < 5000);
  });

  test('downloads are cached by digest: a second run needs no archive download', async () => {
    const cacheDir = join(tmp.path, 'cache');
    const dir = await newChart({ dependencies: redis() });
    const first = await chartsyncPackage(dir, { cacheDir });
    const index = parse(await readFile(join(repo.dir, 'index.yaml'), 'utf8'));
    const digest = index.entries.redis.find((e: { version: string }) => e.version === '1.1.0').digest;
    assert.deepEqual(await readdir(cacheDir), [`${digest}.tgz`]);
    repo.override('redis-1.1.0.tgz', { kind: 'body', status: 500, data: 'down' });
    const second = await chartsyncPackage(dir, { cacheDir });
    assert.ok(first.equals(second));
    await assert.rejects(chartsyncPackage(dir), /redis-1.1.0.tgz: HTTP 500/);
  });

  test('an index digest that is not a sha256 is refused, never used as a cache file name', {
    timeout: 10_000,
  }, async () => {
    const cacheDir = join(tmp.path, 'cache-hostile');
    await mkdir(cacheDir, { recursive: true });
    // A FIFO where '<cacheDir>/../trap.tgz' points: reading it would block the resolution forever.
    execFileSync('mkfifo', [join(tmp.path, 'trap.tgz')]);
    await repo.rewriteIndex((index) => {
      for (const v of index.entries.redis ?? []) v.digest = 'sha256:../trap';
    });
    const dir = await newChart({ dependencies: redis() });
    await assert.rejects(
      chartsyncPackage(dir, { cacheDir }),
      /redis-1\.1\.0\.tgz: the index gives a digest that is not a sha256 \(64 hex digits\)/,
    );
    assert.deepEqual(await readdir(cacheDir), []);
  });

  test('each repository index is fetched once per run, however many charts use it', async () => {
    // Like the CLI and a sync: new options per chart, one repositories array per run.
    const run = (repositories: PackageOptions['repositories']) => async (deps: ChartSpec['dependencies']) =>
      packageChart(await newChart({ dependencies: deps }), {
        mtime: MTIME,
        dependencyUpdate: true,
        repositories,
      });
    const first = run([{ name: 'r', url: repo.url }]);
    await Promise.all([first(redis('^1.0', '@r')), first(redis('~1.0', '@r')), first(redis())]);
    assert.equal(repo.requestsFor('index.yaml').length, 1);
    await run([{ name: 'r', url: repo.url }])(redis());
    assert.equal(repo.requestsFor('index.yaml').length, 2);
  });

  test('a vendored archive that satisfies the constraint is used as is, without the network', async () => {
    const vendored = await readFile(join(repo.dir, 'redis-1.0.0.tgz'));
    const dir = await newChart({ dependencies: redis('^1.0') });
    const { mkdir, writeFile } = await import('node:fs/promises');
    await mkdir(join(dir, 'charts'));
    await writeFile(join(dir, 'charts', 'redis-1.0.0.tgz'), vendored);
    const ours = await chartsyncPackage(dir);
    assert.deepEqual(lockedVersions(ours, 'app'), ['1.0.0']);
    assert.equal(repo.requests.length, 0);
    // One that does not satisfy it is replaced by the download, as helm replaces it.
    const dir2 = await newChart({ dependencies: redis('~1.1') });
    await mkdir(join(dir2, 'charts'));
    await writeFile(join(dir2, 'charts', 'redis-1.0.0.tgz'), vendored);
    const files = entries(await chartsyncPackage(dir2));
    assert.match(files.get('app/charts/redis/Chart.yaml')?.toString() ?? '', /version: 1.1.0/);
  });

  test('same inputs, same bytes: the new lock takes the packaging time, not the clock', async () => {
    const dir = await newChart({ dependencies: redis() });
    const a = await chartsyncPackage(dir);
    await new Promise((r) => setTimeout(r, 20));
    const b = await chartsyncPackage(dir);
    assert.ok(a.equals(b));
    const lock = parse(entries(a).get('app/Chart.lock')?.toString() ?? '');
    assert.equal(new Date(lock.generated).getTime(), MTIME.getTime());
  });

  test('a version pinned by Chart.lock that left the index is reported as such', async () => {
    const dir = await newChart({ dependencies: redis() });
    await helm.run(['dependency', 'update', dir, '--skip-refresh']);
    await rm(join(dir, 'charts'), { recursive: true }); // keep the lock only
    await repo.rewriteIndex((index) => {
      index.entries.redis = (index.entries.redis ?? []).filter((e) => e.version === '1.0.0');
    });
    await assert.rejects(
      chartsyncPackage(dir),
      /dependency 'redis' \(\^1.0 from .*\): version 1.1.0 pinned by Chart.lock is not in the index; available: 1.0.0/,
    );
  });

  test('what was chosen is logged at debug level, never a credential', async () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const logger = createLogger({ level: 'debug', pretty: false, destination });
    const repositories = [{ name: 'r', url: repo.url, username: 'u', password: 'pa55-secret' }];
    const cacheDir = join(tmp.path, 'log-cache');
    const dir = await newChart({ dependencies: redis('^1.0', '@r') });
    await chartsyncPackage(dir, { repositories, logger, cacheDir });
    await chartsyncPackage(dir, { repositories: [...repositories], logger, cacheDir });
    const logged = lines.map((l) => JSON.parse(l));
    assert.deepEqual(
      logged.map(({ msg, chart, dependency, version, how }) => ({ msg, chart, dependency, version, how })),
      [
        {
          msg: 'dependency resolved',
          chart: 'app',
          dependency: 'redis',
          version: '1.1.0',
          how: 'downloaded',
        },
        { msg: 'dependency resolved', chart: 'app', dependency: 'redis', version: '1.1.0', how: 'cached' },
      ],
    );
    assert.equal(logged[0].from, repo.url);
    assert.doesNotMatch(lines.join(''), /pa55-secret/);
  });

  test('credentials written into a repository URL never appear in errors', async () => {
    const port = new URL(repo.url).port;
    const dir = await newChart({
      dependencies: redis('^9', `http://bob:hunter2@127.0.0.1:${port}/?token=abc`),
    });
    await assert.rejects(chartsyncPackage(dir), (err: Error) => {
      assert.match(err.message, /no version satisfies the constraint/);
      assert.doesNotMatch(err.message, /hunter2|token=abc/);
      return true;
    });
  });

  test("a token in a registered repository's query fetches, but Chart.lock names the repository without it", async () => {
    const TOKEN = 'SEKRET7-dep-query-5e4d';
    const dir = await newChart({ dependencies: redis('^1.0', '@tok') });
    const repositories = [{ name: 'tok', url: `${repo.url}/?token=${TOKEN}#frag-${TOKEN}` }];
    const ours = await chartsyncPackage(dir, { repositories });
    assert.ok(
      repo.requests.some((r) => r.path === '/index.yaml' && r.query === `?token=${TOKEN}`),
      'the index was fetched with the query, as helm does',
    );
    assert.ok(
      repo.requests.some((r) => r.path === '/redis-1.1.0.tgz' && r.query === `?token=${TOKEN}`),
      'and the archive',
    );
    const files = entries(ours);
    const lock = parse(files.get('app/Chart.lock')?.toString() ?? '');
    assert.deepEqual(lock.dependencies, [{ name: 'redis', repository: `${repo.url}/`, version: '1.1.0' }]);
    for (const [path, data] of files) assert.ok(!data.includes(TOKEN), `${path} holds the token`);
    // helm takes the lock as it is: `helm dependency build` (which refuses a lock whose digest
    // does not match the dependencies) pins from it, the repository added without the query
    const own = new Helm(join(tmp.path, 'home-tok'));
    await own.addRepo('tok', `${repo.url}/`);
    const unpacked = join(tmp.path, 'unpacked-tok');
    for (const [path, data] of files) {
      await mkdir(dirname(join(unpacked, path)), { recursive: true });
      await writeFile(join(unpacked, path), data);
    }
    await rm(join(unpacked, 'app/charts'), { recursive: true, force: true });
    await own.run(['dependency', 'build', join(unpacked, 'app')]);
    assert.deepEqual(await readdir(join(unpacked, 'app/charts')), ['redis-1.1.0.tgz']);
  });

  test('a dependency without a version, or a repository that is not one, is refused by name', async () => {
    const dir = await newChart({ dependencies: [{ name: 'redis', repository: repo.url }] });
    await assert.rejects(
      chartsyncPackage(dir),
      /chart app: Chart.yaml: dependency 'redis' \(no version from .*\): improper constraint: ""/,
    );
    const dir2 = await newChart({
      dependencies: [{ name: 'redis', version: '1.0.0', repository: 'stable' }],
    });
    await assert.rejects(
      chartsyncPackage(dir2),
      /dependency 'redis' \(1.0.0 from stable\): repository 'stable' is neither/,
    );
  });
});

/** A gzipped tar written entry by entry, without any of tar's path sanitising. */
function tgz(items: { path: string; data?: Buffer; linkpath?: string }[]): Buffer {
  const blocks: Buffer[] = [];
  for (const item of items) {
    const data = item.data ?? Buffer.alloc(0);
    const header = new Header({
      path: item.path,
      mode: 0o644,
      size: item.linkpath ? 0 : data.length,
      type: item.linkpath ? 'SymbolicLink' : 'File',
      ...(item.linkpath ? { linkpath: item.linkpath } : {}),
      mtime: new Date(0),
    });
    header.encode();
    blocks.push(header.block as Buffer);
    if (!item.linkpath) blocks.push(data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(blocks));
}
