/** Chart dependency resolution, like `helm dependency build` then `helm package` (see resolve.ts). */

import { ChartSizeBudget } from '../limits.js';
import { loadArchive } from '../load-archive.js';
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
  // Every archive downloaded for this chart unpacks within one budget: many dependencies (or
  // subcharts nested in them) cannot add up to more than one chart may hold (limits.ts).
  const budget = new ChartSizeBudget();
  const loadChartArchive = (data: Buffer, source: string) => loadArchive(data, source, budget);
  return resolveWith({ loadChartDir, loadChartArchive }, chart, chartDir, opts);
}

// The parts of resolution (constraints, repository indexes, locks, Go's JSON), exported for their
// unit tests and comparisons with helm.
export { parseConstraint, satisfies } from './constraint.js';
export { GoStruct, goJsonMarshal } from './go-json.js';
export { httpGet, redirectAllowed } from './http-get.js';
export { scanIndex } from './index-scan.js';
export { formatLockTime, hashReq, hashV2Req } from './lock.js';
export {
  archiveUrl,
  availableVersions,
  chooseVersion,
  findVersion,
  parseFullIndex,
  parseIndex,
} from './repo-index.js';
export { resolveRepositoryRef, urlEqual } from './repositories.js';
export { visibleTo } from './scope.js';
