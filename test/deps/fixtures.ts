/**
 * Fixtures for the dependency tests: charts written to disk, a chart repository of packaged
 * charts served by ChartRepoServer (the real helm is test/harness/helm.ts).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { ChartRepoServer, type ChartRepoServerOptions } from '../harness/chart-repo-server.ts';
import type { Helm } from '../harness/helm.ts';

export interface ChartSpec {
  name: string;
  version: string;
  apiVersion?: string;
  dependencies?: Record<string, unknown>[];
  /** More Chart.yaml fields (annotations, maintainers…). */
  metadata?: Record<string, unknown>;
  /** Extra files, path relative to the chart root. */
  files?: Record<string, string>;
}

/** Writes a small valid chart into `dir` (created). */
export async function writeChart(dir: string, spec: ChartSpec): Promise<string> {
  const apiVersion = spec.apiVersion ?? 'v2';
  const meta: Record<string, unknown> = {
    apiVersion,
    name: spec.name,
    version: spec.version,
    description: `${spec.name} chart`,
    ...spec.metadata,
  };
  const files: Record<string, string> = {
    'values.yaml': `replicas: 1\n`,
    'templates/configmap.yaml': `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-${spec.name}\ndata:\n  version: ${JSON.stringify(spec.version)}\n`,
    ...spec.files,
  };
  if (spec.dependencies && apiVersion === 'v1')
    files['requirements.yaml'] = stringify({ dependencies: spec.dependencies });
  else if (spec.dependencies) meta.dependencies = spec.dependencies;
  files['Chart.yaml'] = stringify(meta);
  for (const [rel, content] of Object.entries(files)) {
    await mkdir(join(dir, rel, '..'), { recursive: true });
    await writeFile(join(dir, rel), content);
  }
  return dir;
}

/** Packages each spec with the real helm into `dir` and serves it as a chart repository. */
export async function startRepo(
  helm: Helm,
  work: string,
  dir: string,
  charts: ChartSpec[],
  opts: Omit<ChartRepoServerOptions, 'dir'> = {},
): Promise<ChartRepoServer> {
  await mkdir(dir, { recursive: true });
  for (const spec of charts) {
    const src = await writeChart(join(work, 'src', `${spec.name}-${spec.version}`, spec.name), spec);
    await helm.packageTo(src, dir);
  }
  return ChartRepoServer.start({ dir, ...opts });
}
