/** Chart dependency resolution, like `helm dependency build` then `helm package` (see resolve.ts). */
import { loadChartArchive } from '../load-archive.js';
import { loadChartDir } from '../load-dir.js';
import type { LoadedChart, PackageOptions } from '../model.js';
import { resolveWith } from './resolve.js';

export { type ChartLoaders, resolveWith } from './resolve.js';

/** The chart with its dependencies resolved and its lock as `helm package` would write it. */
export function resolveDependencies(
  chart: LoadedChart,
  chartDir: string,
  opts: PackageOptions,
): Promise<LoadedChart> {
  return resolveWith({ loadChartDir, loadChartArchive }, chart, chartDir, opts);
}
