/**
 * Packages a chart twice — with the real helm (`helm dependency build|update` then `helm
 * package`) and with chartsync (load, resolve dependencies, save) — and compares the results
 * entry by entry: same file set, identical bytes, Chart.yaml and Chart.lock equal as data
 * (Chart.lock without `generated`, which helm takes from the clock).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { type PackageOptions, packageChart } from '@chartsync/sidecar';
import { parse } from 'yaml';
import type { Helm } from './fixtures.ts';

const run = promisify(execFile);

export const MTIME = new Date('2024-03-01T12:00:00Z');

/** chartsync's package of the chart at `dir`, with `--dependency-update`. */
export async function chartsyncPackage(dir: string, opts: Partial<PackageOptions> = {}): Promise<Buffer> {
  return (await packageChart(dir, { mtime: MTIME, dependencyUpdate: true, ...opts })).data;
}

/**
 * helm's package of the chart at `dir`, run on a copy (helm writes into charts/); `root` is
 * copied whole when file:// dependencies point outside the chart.
 */
export async function helmPackage(
  helm: Helm,
  dir: string,
  work: string,
  mode: 'build' | 'update',
  root = dir,
): Promise<Buffer> {
  const copyRoot = join(work, `helm-copy-${Math.random().toString(36).slice(2)}`);
  await cp(root, copyRoot, { recursive: true });
  const copy = join(copyRoot, relative(root, dir));
  await helm.run(['dependency', mode, copy]);
  const out = join(work, 'helm-out');
  await mkdir(out, { recursive: true });
  return readFile(await helm.package(copy, out));
}

/** The archive's entries: path -> bytes. */
export async function entries(archive: Buffer, work: string): Promise<Map<string, Buffer>> {
  const dir = join(work, `x-${Math.random().toString(36).slice(2)}`);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'a.tgz'), archive);
  await mkdir(join(dir, 'x'));
  await run('tar', ['-xzf', join(dir, 'a.tgz'), '-C', join(dir, 'x')]);
  const files = new Map<string, Buffer>();
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else files.set(relative(join(dir, 'x'), p), await readFile(p));
    }
  };
  await walk(join(dir, 'x'));
  return files;
}

function asData(path: string, data: Buffer): unknown {
  const doc = parse(data.toString('utf8'));
  if (path.endsWith('/Chart.lock') || path.endsWith('/requirements.lock')) delete doc.generated;
  return doc;
}

/** Asserts that both archives hold the same files with the same content. */
export async function assertSamePackage(ours: Buffer, helms: Buffer, work: string): Promise<void> {
  const [a, b] = [await entries(ours, work), await entries(helms, work)];
  assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort(), 'same file set');
  for (const [path, data] of a) {
    const other = b.get(path) as Buffer;
    if (/(^|\/)(Chart\.yaml|Chart\.lock|requirements\.lock)$/.test(path)) {
      assert.deepEqual(asData(path, data), asData(path, other), `${path} equal as data`);
    } else {
      assert.ok(data.equals(other), `${path} byte-identical`);
    }
  }
}

/** The locked versions recorded in the package's lock file. */
export async function lockedVersions(archive: Buffer, work: string, chart: string): Promise<string[]> {
  const files = await entries(archive, work);
  const lock = files.get(`${chart}/Chart.lock`) ?? files.get(`${chart}/requirements.lock`);
  assert.ok(lock, 'the package has a lock file');
  return parse(lock.toString('utf8')).dependencies.map((d: { version: string }) => d.version);
}
