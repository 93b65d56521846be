/** Packages one chart directory with the real helm and with chartsync, and compares the results. */
import assert from 'node:assert/strict';
import {
  type ArchiveDifference,
  compareArchives,
  FIXED_EPOCH,
  type PackagedChart,
  packageChart,
} from '@chartsync/sidecar';
import type { Helm } from '../harness/helm.ts';

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
