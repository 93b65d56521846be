/**
 * `helm package` for one chart directory: load, optionally resolve dependencies, check that
 * every declared dependency is present (helm's CheckDependencies), validate, save
 * reproducibly, digest.
 */
import { createHash } from 'node:crypto';
import { isUtf8Name } from './byte-names.js';
import { resolveDependencies } from './dependencies/index.js';
import { ChartError } from './errors.js';
import { loadChartDir } from './load-dir.js';
import type { ChartArchive, LoadedChart, PackagedChart, PackageOptions, StagedChart } from './model.js';
import { saveChart, writeChartArchive } from './save.js';
import { archiveFileName, checkServable, validateChart } from './validate.js';

/**
 * Packages the chart at `dir`. Nothing outside `opts.repoRoot` is read (the chart directory
 * itself when unset): not the chart, not its files, not its `file://` dependencies.
 */
export async function packageChart(dir: string, opts: PackageOptions): Promise<PackagedChart> {
  return packageLoadedChart(await loadForPackaging(dir, opts), opts.mtime);
}

/** `packageChart`, streaming the archive into the file `path` instead of memory. */
export async function packageChartToFile(
  dir: string,
  opts: PackageOptions,
  path: string,
): Promise<StagedChart> {
  const chart = await loadForPackaging(dir, opts);
  checkPackageable(chart);
  const { digest, size } = await writeChartArchive(chart, opts.mtime, path, opts.reclaim);
  return { ...describe(chart, digest), path, size };
}

async function loadForPackaging(dir: string, opts: PackageOptions): Promise<LoadedChart> {
  const bounded = { ...opts, repoRoot: opts.repoRoot ?? dir };
  const chart = await loadChartDir(bounded.repoRoot, dir);
  return opts.dependencyUpdate ? resolveDependencies(chart, dir, bounded) : chart;
}

/** Packages an already loaded (and resolved) chart. */
export async function packageLoadedChart(chart: LoadedChart, mtime: Date): Promise<PackagedChart> {
  checkPackageable(chart);
  const data = await saveChart(chart, mtime);
  return { ...describe(chart, createHash('sha256').update(data).digest('hex')), data };
}

function checkPackageable(chart: LoadedChart): void {
  checkDependenciesPresent(chart);
  validateChart(chart);
  checkFileNames(chart, chart.metadata.name);
  // Only the top-level chart becomes a file of its own; subcharts travel inside it.
  const unservable = checkServable(chart.metadata);
  if (unservable) throw new ChartError(chart.metadata.name, 'Chart.yaml', unservable);
}

/**
 * Every file that goes into the package has a UTF-8 name. helm would write other names' bytes
 * into the archive; chartsync refuses the chart instead (its archives, indexes and comparisons
 * name files as text), naming the file relative to the chart. Names `.helmignore` ignores, and
 * subchart directories (written under the subchart's name), never get here.
 */
function checkFileNames(chart: LoadedChart, top: string, prefix = ''): void {
  for (const f of chart.files) {
    if (!isUtf8Name(f.name)) {
      throw new ChartError(
        top,
        `${prefix}${f.name}`,
        'file name is not valid UTF-8, which chartsync cannot package; rename the file or list it in .helmignore',
      );
    }
  }
  for (const dep of chart.dependencies) {
    // A vendored subchart is named by its path in this chart; a resolved one by its package path.
    const under = dep.source.startsWith(`${chart.source}/`)
      ? dep.source.slice(chart.source.length + 1)
      : `charts/${dep.metadata.name}`;
    checkFileNames(dep, top, `${prefix}${under}/`);
  }
}

function describe(chart: LoadedChart, digest: string): ChartArchive {
  const { name, version } = chart.metadata;
  return { name, version, fileName: archiveFileName(chart.metadata), digest, metadata: chart.metadata };
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
