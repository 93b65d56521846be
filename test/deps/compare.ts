/**
 * Packages a chart twice — with the real helm (`helm dependency build|update` then `helm
 * package`) and with chartsync (load, resolve dependencies, save) — and compares the results
 * with the engine's own comparator (compareArchives): same file set, identical bytes,
 * Chart.yaml and Chart.lock equal as data (Chart.lock without `generated`, helm's clock).
 */
import assert from 'node:assert/strict';
import { cp, mkdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { compareArchives, listArchive, type PackageOptions, packageChart } from '@chartsync/sidecar';
import { parse } from 'yaml';
import type { Helm } from '../harness/helm.ts';

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
  return readFile(await helm.packageTo(copy, out));
}

/** The archive's files: path -> bytes. */
export function entries(archive: Buffer): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (const [path, data] of listArchive(archive)) if (typeof data !== 'string') files.set(path, data);
  return files;
}

/** Asserts that both archives hold the same files with the same content (the engine's comparator). */
export function assertSamePackage(ours: Buffer, helms: Buffer): void {
  const diffs = compareArchives(helms, ours, { lockAsData: true });
  assert.deepEqual(diffs, [], `archives differ:\n${diffs.map((d) => `${d.file}: ${d.problem}`).join('\n')}`);
}

/** The locked versions recorded in the package's lock file. */
export function lockedVersions(archive: Buffer, chart: string): string[] {
  const files = entries(archive);
  const lock = files.get(`${chart}/Chart.lock`) ?? files.get(`${chart}/requirements.lock`);
  assert.ok(lock, 'the package has a lock file');
  return parse(lock.toString('utf8')).dependencies.map((d: { version: string }) => d.version);
}
