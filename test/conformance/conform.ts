/** Packages one chart directory with the real helm and with chartsync, and compares the results. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before } from 'node:test';
import {
  type ArchiveDifference,
  compareArchives,
  FIXED_EPOCH,
  type PackagedChart,
  packageChart,
} from '@chartsync/sidecar';
import { type FileTree, writeTree } from '../harness/chart-fixtures.ts';
import { createHelm, type Helm } from '../harness/helm.ts';
import { tempDir } from '../harness/paths.ts';

export interface Conformance {
  helm: { data: Buffer; fileName: string } | { error: string };
  ours: PackagedChart | { error: string };
  diffs: ArchiveDifference[];
}

export async function conform(helm: Helm, chartDir: string): Promise<Conformance> {
  const reference = await helm.package(chartDir);
  const ours = await packageChart(chartDir, { mtime: FIXED_EPOCH }).catch((err: Error) => ({
    error: err.message,
  }));
  const diffs =
    'data' in reference && 'data' in ours
      ? compareArchives(reference.data, ours.data, { exactChartYaml: true })
      : [];
  return { helm: reference, ours, diffs };
}

/** Asserts both tools succeeded and produced the same chart; returns our package. */
export async function assertConforms(helm: Helm, chartDir: string): Promise<PackagedChart> {
  const r = await conform(helm, chartDir);
  if ('error' in r.helm) assert.fail(`helm package failed: ${r.helm.error}`);
  if ('error' in r.ours) assert.fail(`chartsync package failed: ${r.ours.error}`);
  assert.equal(r.ours.fileName, r.helm.fileName, 'archive file name');
  assert.deepEqual(
    r.diffs,
    [],
    `archives differ:\n${r.diffs.map((d) => `${d.file}: ${d.problem}`).join('\n')}`,
  );
  return r.ours;
}

/** Asserts both tools refuse the chart; returns our error message. */
export async function assertBothRefuse(helm: Helm, chartDir: string): Promise<string> {
  const r = await conform(helm, chartDir);
  assert.ok('error' in r.helm, 'helm package should fail');
  assert.ok('error' in r.ours, `chartsync should fail (helm: ${'error' in r.helm ? r.helm.error : ''})`);
  return r.ours.error;
}

/** Asserts chartsync refuses the chart exactly when helm does, and else packages the same chart. */
export async function assertAgrees(helm: Helm, chartDir: string): Promise<'same' | 'both refuse'> {
  const r = await conform(helm, chartDir);
  const helmOk = !('error' in r.helm);
  assert.equal(
    !('error' in r.ours),
    helmOk,
    `helm: ${'error' in r.helm ? r.helm.error : 'ok'}; chartsync: ${'error' in r.ours ? r.ours.error : 'ok'}`,
  );
  assert.deepEqual(r.diffs, []);
  return helmOk ? 'same' : 'both refuse';
}

/**
 * A suite's helm and scratch directory (made before its tests, removed after), and `agree`:
 * a file tree written as a chart directory, then assertAgrees on it.
 */
export function agreementSuite(prefix: string): {
  agree: (tree: FileTree) => Promise<'same' | 'both refuse'>;
  /** A new empty directory path in the suite's scratch directory. */
  newDir: () => string;
} {
  let helm: Helm;
  let tmp: { path: string; cleanup: () => Promise<void> };
  let n = 0;
  before(async () => {
    helm = await createHelm();
    tmp = await tempDir(prefix);
  });
  after(async () => {
    await tmp?.cleanup();
    await helm?.cleanup();
  });
  const newDir = () => join(tmp.path, `${n++}`);
  const agree = async (tree: FileTree) => {
    const dir = join(newDir(), 'c');
    await writeTree(dir, tree);
    return assertAgrees(helm, dir);
  };
  return { agree, newDir };
}
