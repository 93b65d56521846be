/**
 * Hostile input is refused with a clear error: symlinks leaving the chart directory, archive
 * entries with `..` or absolute paths, link entries, decompression bombs and YAML alias bombs.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { ChartError, FIXED_EPOCH, loadChartArchive, packageChart } from '@chartsync/sidecar';
import { appChart, chartYaml, rawTarGz, writeTree } from '../harness/chart-fixtures.ts';
import { tempDir } from '../harness/paths.ts';

let tmp: { path: string; cleanup: () => Promise<void> };
let n = 0;
before(async () => {
  tmp = await tempDir('chartsync-hostile-');
});
after(() => tmp.cleanup());

const CHART_YAML = chartYaml({ apiVersion: 'v2', name: 'evil', version: '1.0.0' });

async function rejects(promise: Promise<unknown>, pattern: RegExp): Promise<ChartError> {
  const err = await promise.then(
    () => assert.fail('hostile input was accepted'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof ChartError, `expected a ChartError, got ${String(err)}`);
  assert.match(err.message, pattern);
  return err;
}

describe('hostile chart directories', () => {
  test('a symlinked file pointing outside the chart is refused', async () => {
    const root = join(tmp.path, `${n++}`);
    await writeTree(root, { 'secret.txt': 'host secret', ...prefix('evil/', appChart('evil')) });
    await writeTree(join(root, 'evil'), { 'leak.txt': { symlink: '../secret.txt' } });
    const err = await rejects(
      packageChart(join(root, 'evil'), { mtime: FIXED_EPOCH }),
      /outside the chart directory/,
    );
    assert.equal(err.file, 'leak.txt');
  });

  test('a symlinked directory pointing outside (absolute) is refused', async () => {
    const root = join(tmp.path, `${n++}`);
    await writeTree(root, prefix('evil/', appChart('evil', '1.0.0', { etc: { symlink: '/etc' } })));
    await rejects(
      packageChart(join(root, 'evil'), { mtime: FIXED_EPOCH }),
      /etc: symbolic link points outside/,
    );
  });

  test('an irregular file (a named pipe) is refused, as helm does', async () => {
    const dir = join(tmp.path, `${n++}`, 'evil');
    await writeTree(dir, appChart('evil'));
    execFileSync('mkfifo', [join(dir, 'pipe')]);
    const err = await rejects(packageChart(dir, { mtime: FIXED_EPOCH }), /irregular file/);
    assert.equal(err.file, 'pipe');
  });

  test('a .helmignore that cannot be read (a link loop, a directory) fails the chart naming it, not a host path', async () => {
    for (const [what, entry] of [
      ['loop', { symlink: '.helmignore' }],
      ['dir', { dir: true }],
    ] as const) {
      const dir = join(tmp.path, `${n++}`, 'evil');
      await writeTree(dir, { ...appChart('evil'), '.helmignore': entry });
      const err = await rejects(packageChart(dir, { mtime: FIXED_EPOCH }), /\.helmignore: cannot read: E/);
      assert.equal(err.file, '.helmignore', what);
      assert.ok(!err.message.includes(tmp.path), `${what}: ${err.message}`);
    }
  });

  test('a symlink loop is refused instead of recursing forever', async () => {
    const root = join(tmp.path, `${n++}`);
    await writeTree(root, prefix('evil/', appChart('evil', '1.0.0', { 'files/loop': { symlink: '..' } })));
    await rejects(packageChart(join(root, 'evil'), { mtime: FIXED_EPOCH }), /loop/);
  });
});

describe('hostile archives', () => {
  const load = (entries: Parameters<typeof rawTarGz>[0]) => loadChartArchive(rawTarGz(entries), 'evil.tgz');
  const chart = { path: 'evil/Chart.yaml', data: CHART_YAML };

  test('an entry with .. is refused', async () => {
    await rejects(load([chart, { path: 'evil/../../etc/passwd', data: 'x' }]), /parent directory/);
  });

  test('an absolute entry is refused', async () => {
    await rejects(load([chart, { path: '/etc/cron.d/evil', data: 'x' }]), /absolute path/);
    await rejects(load([chart, { path: 'evil//etc/passwd', data: 'x' }]), /absolute path/);
  });

  test('symbolic and hard link entries are refused', async () => {
    await rejects(
      load([chart, { path: 'evil/link', type: 'SymbolicLink', linkpath: '/etc/passwd' }]),
      /link entry/,
    );
    await rejects(
      load([chart, { path: 'evil/hard', type: 'Link', linkpath: 'evil/Chart.yaml' }]),
      /link entry/,
    );
  });

  test('a file over the 5 MiB per-file cap is refused', async () => {
    await rejects(
      load([chart, { path: 'evil/big', data: Buffer.alloc(5 * 1024 * 1024 + 1) }]),
      /maximum file size/,
    );
  });

  test('a decompression bomb over 100 MiB is refused', async () => {
    const files = Array.from({ length: 21 }, (_, i) => ({
      path: `evil/zeros-${i}`,
      data: Buffer.alloc(5 * 1024 * 1024),
    }));
    const bomb = rawTarGz([chart, ...files]);
    assert.ok(bomb.length < 1024 * 1024, 'the bomb is small compressed');
    await rejects(loadChartArchive(bomb, 'bomb.tgz'), /larger than the maximum size/);
  });

  test('a gzip stream inflating past the cap is stopped while decompressing', async () => {
    const endless = gzipSync(Buffer.alloc(130 * 1024 * 1024));
    await rejects(loadChartArchive(endless, 'endless.tgz'), /larger than the maximum size/);
  });

  test('data that is not gzip is refused', async () => {
    await rejects(loadChartArchive(Buffer.from('apiVersion: v2\n'), 'plain.tgz'), /not a gzipped archive/);
  });

  test('Chart.yaml outside the chart directory is refused', async () => {
    await rejects(load([{ path: 'Chart.yaml', data: CHART_YAML }]), /outside the chart directory/);
    await rejects(
      load([{ path: 'Chart.yaml/x', data: CHART_YAML }]),
      /Chart.yaml is not inside the chart directory/,
    );
  });

  test('a hostile .tgz vendored in charts/ is refused when packaging', async () => {
    const root = join(tmp.path, `${n++}`, 'evil');
    await writeTree(root, appChart('evil'));
    await mkdir(join(root, 'charts'), { recursive: true });
    await writeFile(
      join(root, 'charts/sub-1.0.0.tgz'),
      rawTarGz([
        { path: 'sub/Chart.yaml', data: chartYaml({ apiVersion: 'v2', name: 'sub', version: '1.0.0' }) },
        { path: 'sub/../../x', data: 'x' },
      ]),
    );
    const err = await rejects(packageChart(root, { mtime: FIXED_EPOCH }), /parent directory/);
    assert.equal(err.chart, 'evil');
    assert.match(err.file, /^charts\/sub-1\.0\.0\.tgz/);
  });
});

describe('YAML alias bombs', () => {
  const bomb = [
    'a: &a ["x","x","x","x","x","x","x","x","x"]',
    'b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]',
    'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]',
    'd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]',
    'e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]',
    'f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]',
    'g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]',
    'h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]',
  ].join('\n');

  test('in values.yaml', async () => {
    const dir = join(tmp.path, `${n++}`, 'evil');
    await writeTree(dir, appChart('evil', '1.0.0', { 'values.yaml': bomb }));
    const started = Date.now();
    const err = await rejects(packageChart(dir, { mtime: FIXED_EPOCH }), /alias bomb/);
    assert.equal(err.file, 'values.yaml');
    assert.ok(Date.now() - started < 5000, 'refused quickly');
  });

  test('in Chart.yaml', async () => {
    const dir = join(tmp.path, `${n++}`, 'evil');
    await writeTree(
      dir,
      appChart('evil', '1.0.0', { 'Chart.yaml': `${CHART_YAML}${bomb.replace('a:', 'x-a:')}\n` }),
    );
    const err = await rejects(packageChart(dir, { mtime: FIXED_EPOCH }), /alias bomb/);
    assert.equal(err.file, 'Chart.yaml');
  });
});

function prefix(p: string, tree: Record<string, unknown>): Record<string, never> {
  return Object.fromEntries(Object.entries(tree).map(([k, v]) => [p + k, v])) as Record<string, never>;
}
