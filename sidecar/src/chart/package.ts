/**
 * `helm package` for one chart directory: load, optionally resolve dependencies, check that
 * every declared dependency is present (helm's CheckDependencies), validate, save
 * reproducibly, digest.
 */
import { createHash } from 'node:crypto';
import { resolveDependencies } from './dependencies/index.js';
import { ChartError } from './errors.js';
import { loadChartDir } from './load-dir.js';
import type { LoadedChart, PackagedChart, PackageOptions } from './model.js';
import { saveChart } from './save.js';
import { archiveFileName, checkServable, validateChart } from './validate.js';

/**
 * Packages the chart at `dir`. Nothing outside `opts.repoRoot` is read (the chart directory
 * itself when unset): not the chart, not its files, not its `file://` dependencies.
 */
export async function packageChart(dir: string, opts: PackageOptions): Promise<PackagedChart> {
  const bounded = { ...opts, repoRoot: opts.repoRoot ?? dir };
  let chart = await loadChartDir(bounded.repoRoot, dir);
  if (opts.dependencyUpdate) chart = await resolveDependencies(chart, dir, bounded);
  return packageLoadedChart(chart, opts.mtime);
}

/** Packages an already loaded (and resolved) chart. */
export async function packageLoadedChart(chart: LoadedChart, mtime: Date): Promise<PackagedChart> {
  checkDependenciesPresent(chart);
  validateChart(chart);
  // Only the top-level chart becomes a file of its own; subcharts travel inside it.
  const unservable = checkServable(chart.metadata);
  if (unservable) throw new ChartError(chart.metadata.name, 'Chart.yaml', unservable);
  const data = await saveChart(chart, mtime);
  const { name, version } = chart.metadata;
  return {
    name,
    version,
    fileName: archiveFileName(chart.metadata),
    digest: createHash('sha256').update(data).digest('hex'),
    data,
    metadata: chart.metadata,
  };
}

/** helm's CheckDependencies: every `dependencies[].name` must be a chart in charts/. */
export function checkDependenciesPresent(chart: LoadedChart): void {
  const present = new Set(chart.dependencies.map((d) => d.metadata.name));
  const missing = (chart.metadata.dependencies ?? [])
    .filter((d) => d && !present.has(d.name))
    .map((d) => d.name);
  if (missing.length > 0) {
    const file = chart.metadata.apiVersion === 'v1' ? 'requirements.yaml' : 'Chart.yaml';
    throw new ChartError(
      chart.metadata.name,
      file,
      `dependencies missing in charts/: ${missing.join(', ')} (run with --dependency-update to resolve them)`,
    );
  }
}
