/**
 * Charts that cost too much, against the running sidecar: a directory of many files each under
 * helm's 5 MiB cap that add up past its 100 MiB chart cap (a compression bomb: it packs to a few
 * hundred KB), or a chart whose `file://` dependency takes it past the cap, fails alone with
 * ChartTooLarge; what is published always loads with helm's caps. A `.helmignore` of thousands
 * of star patterns against long file names is matched in bounded time: the service keeps
 * answering and the chart comes out as helm would package it.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { compareArchives, listArchive } from '@chartsync/sidecar';
import { rawTarGz } from '../harness/chart-fixtures.ts';
import { fileUrl } from '../harness/git-server.ts';
import { createHelm, type Helm } from '../harness/helm.ts';
import { chartFiles } from '../sidecar/fixtures.ts';
import { type ChartResult, rawRequest, startWorld, type World } from './world.ts';

const MiB = 1024 * 1024;
/** Exactly helm's per-file cap, one repeated byte: it gzips to a few KB (and git stores it once). */
const FIVE_MIB = Buffer.alloc(5 * MiB, 0x41);
/** `count` files of 5 MiB each. */
function bigFiles(dir: string, count: number): Record<string, Buffer> {
  return Object.fromEntries(Array.from({ length: count }, (_, i) => [`${dir}/files/f${i}.bin`, FIVE_MIB]));
}

let w: World;
before(async () => {
  w = await startWorld({ args: ['--allow-local-git'] });
});
after(async () => {
  await w?.stop();
});

describe('the total size cap', () => {
  let charts: ChartResult[];
  before(async () => {
    const repo = await w.git.repos.create('sizes', {
      ...chartFiles('charts/good', 'good'),
      ...chartFiles('charts/bomb', 'bomb'),
      ...bigFiles('charts/bomb', 22),
      // 65 MiB + a 40 MiB file:// dependency: each loads alone, the package would not.
      ...chartFiles('charts/parent', 'parent', {
        dependencies: [{ name: 'lib', version: '1.0.0', repository: 'file://../lib' }],
      }),
      ...bigFiles('charts/parent', 13),
      ...chartFiles('charts/lib', 'lib'),
      ...bigFiles('charts/lib', 8),
    });
    const a = await w.api('POST', '/repo/new', { json: { name: 'sizes', git: fileUrl(repo) } });
    assert.equal(a.status, 200, a.text);
    charts = a.json.charts as ChartResult[];
  });

  test('22 files of 5 MiB (110 MiB): failed alone, ChartTooLarge', () => {
    const bomb = charts.find((c) => c.name === 'bomb');
    assert.equal(bomb?.action, 'failed', JSON.stringify(charts));
    assert.equal(bomb?.reason, 'ChartTooLarge');
    assert.match(bomb?.error ?? '', /decompressed chart is larger than the maximum size 104857600/);
  });

  test('a chart within the cap whose file:// dependency takes it past: failed alone, ChartTooLarge', () => {
    const parent = charts.find((c) => c.name === 'parent');
    assert.equal(parent?.action, 'failed', JSON.stringify(charts));
    assert.equal(parent?.reason, 'ChartTooLarge');
    assert.match(parent?.error ?? '', /with its subcharts/);
  });

  test('the charts within the cap are published (the 40 MiB one too)', async () => {
    const published = charts.filter((c) => c.action === 'published').map((c) => c.name);
    assert.deepEqual(published.sort(), ['good', 'lib']);
    const index = await w.api('GET', '/charts/sizes/index.yaml', { token: null });
    assert.doesNotMatch(index.text, /bomb|parent/);
  });
});

describe('subchart archives nested in subchart archives', () => {
  // l1: 6 files just under 5 MiB of zeros, 30 MiB unpacked, ~30 KB packed. l2 holds 40 copies of
  // it, a few KB in git. Each archive is under helm's caps on its own; together they unpack to
  // 1.2 GB, which the loader used to hold in memory before the packager refused the total.
  const l1 = rawTarGz([
    { path: 'l1/Chart.yaml', data: 'apiVersion: v2\nname: l1\nversion: 1.0.0\n' },
    ...Array.from({ length: 6 }, (_, i) => ({ path: `l1/f${i}`, data: Buffer.alloc(5 * MiB - 1024) })),
  ]);
  const l2 = rawTarGz([
    { path: 'l2/Chart.yaml', data: 'apiVersion: v2\nname: l2\nversion: 1.0.0\n' },
    ...Array.from({ length: 40 }, (_, i) => ({ path: `l2/charts/c${i}.tgz`, data: l1 })),
  ]);
  let charts: ChartResult[];
  let peakMiB = 0;
  before(async () => {
    const repo = await w.git.repos.create('nested', {
      ...chartFiles('charts/good', 'good'),
      'charts/nest/Chart.yaml': 'apiVersion: v2\nname: nest\nversion: 1.0.0\n',
      'charts/nest/charts/l2.tgz': l2,
    });
    // The sidecar's peak RSS from here on: "5" resets VmHWM (Linux >= 4.0).
    const pid = w.sidecar.proc.pid as number;
    await writeFile(`/proc/${pid}/clear_refs`, '5');
    const a = await w.api('POST', '/repo/new', { json: { name: 'nested', git: fileUrl(repo) } });
    assert.equal(a.status, 200, a.text);
    charts = a.json.charts as ChartResult[];
    const hwm = /VmHWM:\s+(\d+) kB/.exec(await readFile(`/proc/${pid}/status`, 'utf8'))?.[1];
    peakMiB = Number(hwm) / 1024;
  });

  test('the chart fails alone, ChartTooLarge, naming the nested archive', () => {
    const nest = charts.find((c) => c.name === 'nest');
    assert.equal(nest?.action, 'failed', JSON.stringify(charts));
    assert.equal(nest?.reason, 'ChartTooLarge');
    assert.match(nest?.error ?? '', /charts\/l2\.tgz\/charts\/c\d+\.tgz.*larger than the maximum size/);
    assert.equal(charts.find((c) => c.name === 'good')?.action, 'published');
  });

  test('unpacking stops at the one budget of the whole chart: the sidecar stays far below 1.2 GB', () => {
    assert.ok(peakMiB > 0 && peakMiB < 600, `sidecar peak RSS ${peakMiB.toFixed(0)} MiB`);
  });
});

describe('.helmignore of thousands of star patterns', () => {
  const LINES = 3000;
  const FILES = 60;
  const longName = (i: number) => `${'a'.repeat(200)}${i}.yaml`;
  /** Each pattern walks every `a` of every name and fails at the end; a few really ignore. */
  const hostile = [
    ...Array.from({ length: LINES }, (_, i) => `*a*a*a*a*a*a*a*a*a*b${i}`),
    '*7.yaml',
    '',
  ].join('\n');
  let helm: Helm;
  let repo: Awaited<ReturnType<World['git']['repos']['create']>>;
  let result: { status: number; json: Record<string, unknown>; text: string };
  let worstHealthMs = 0;

  before(async () => {
    helm = await createHelm();
    const files: Record<string, string> = {
      ...chartFiles('charts/stars', 'stars'),
      'charts/stars/.helmignore': hostile,
      // Classes take the general matching path: 5000 of them over 400 names exceed the budget.
      ...chartFiles('charts/costly', 'costly'),
      'charts/costly/.helmignore': Array.from(
        { length: 5000 },
        (_, i) => `*[a]*[a]*[a]*[a]*[a]*[a]*[a]*[a]*[a]*b${i}`,
      ).join('\n'),
      ...chartFiles('charts/plain', 'plain'),
    };
    for (let i = 0; i < FILES; i++) files[`charts/stars/templates/${longName(i)}`] = `# ${i}\n`;
    for (let i = 0; i < 400; i++) files[`charts/costly/files/${longName(i)}`] = `${i}\n`;
    repo = await w.git.repos.create('stars', files);
    // /healthz keeps answering while the sync runs: the event loop is never held for long.
    let syncing = true;
    const probe = (async () => {
      while (syncing) {
        const t = performance.now();
        await w.api('GET', '/healthz', { token: null });
        worstHealthMs = Math.max(worstHealthMs, performance.now() - t);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    result = await w.api('POST', '/repo/new', { json: { name: 'stars', git: fileUrl(repo) } });
    syncing = false;
    await probe;
  });
  after(async () => {
    await helm?.cleanup();
  });

  test('the sync finishes in seconds, /healthz answered throughout', () => {
    assert.equal(result.status, 200, result.text);
    // Before linear-time matching these charts took over 400 s of event-loop time (measured);
    // the bounds leave room for a loaded CI machine running suites side by side.
    assert.ok((result.json.durationMs as number) < 60_000, `durationMs ${result.json.durationMs}`);
    assert.ok(worstHealthMs < 30_000, `worst /healthz ${worstHealthMs} ms`);
  });

  test('the chart holds exactly what helm package puts in it', async () => {
    const charts = result.json.charts as ChartResult[];
    assert.equal(charts.find((c) => c.name === 'stars')?.action, 'published', JSON.stringify(charts));
    const reference = await helm.package(join(repo.work, 'charts/stars'));
    assert.ok('data' in reference, JSON.stringify(reference));
    const raw = await rawGet(w, '/charts/stars/stars-1.0.0.tgz');
    assert.deepEqual(compareArchives(reference.data, raw), []);
    // The rules did decide something: the *7.yaml files are gone, the others are there.
    const names = listArchive(raw);
    assert.ok(!names.has(`stars/templates/${longName(7)}`));
    assert.ok(names.has(`stars/templates/${longName(8)}`));
  });

  test('patterns that would cost more than the matching budget: failed alone, ChartTooLarge, naming .helmignore', () => {
    const charts = result.json.charts as ChartResult[];
    const costly = charts.find((c) => c.name === 'costly');
    assert.equal(costly?.action, 'failed', JSON.stringify(charts));
    assert.equal(costly?.reason, 'ChartTooLarge');
    assert.match(
      costly?.error ?? '',
      /\.helmignore: matching the patterns against the chart's files needs more than/,
    );
    assert.equal(charts.find((c) => c.name === 'plain')?.action, 'published');
  });
});

/** The raw bytes of a GET (the world's api() decodes text). */
async function rawGet(world: World, path: string): Promise<Buffer> {
  const res = await rawRequest(world.sidecar.url, 'GET', path, {});
  return res.body;
}
