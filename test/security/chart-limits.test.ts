/**
 * Charts that cost too much, against the running sidecar: a directory of many files each under
 * helm's 5 MiB cap that add up past its 100 MiB chart cap (a compression bomb: it packs to a few
 * hundred KB), or a chart whose `file://` dependency takes it past the cap, fails alone with
 * ChartTooLarge; what is published always loads with helm's caps. A `.helmignore` of thousands
 * of star patterns against long file names is matched in bounded time: the service keeps
 * answering and the chart comes out as helm would package it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { fileUrl } from '../harness/git-server.ts';
import { chartFiles } from '../sidecar/fixtures.ts';
import { startWorld, type World } from './world.ts';

interface ChartResult {
  name: string;
  version: string;
  action: string;
  error?: string;
  reason?: string;
}

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
