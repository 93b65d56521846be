/**
 * Finds the charts of a repository: every directory holding Chart.yaml, except directories
 * inside another chart (subcharts ship inside their parent). `.git` is skipped and symlinked
 * directories are not followed, so the scan stays inside the checkout.
 */
import { lstat, readdir } from 'node:fs/promises';
import { isAbsolute, join, posix } from 'node:path';
import { compareBytes } from './load-files.js';

export class DiscoveryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DiscoveryError';
  }
}

/** Chart directories relative to `root` (forward slashes, `.` for the root itself), sorted. */
export async function discoverCharts(root: string, paths?: string[]): Promise<string[]> {
  const starts = paths && paths.length > 0 ? paths.map(checkPath) : ['.'];
  const found = new Set<string>();
  for (const start of starts) {
    const info = await lstat(join(root, start)).catch(() => undefined);
    if (!info?.isDirectory())
      throw new DiscoveryError(`path ${JSON.stringify(start)} is not a directory in the repository`);
    for (const chart of await scan(root, start)) found.add(chart);
  }
  return dropNested([...found].sort(compareBytes));
}

/** A `paths` entry must stay inside the repository. */
function checkPath(p: string): string {
  const normal = posix.normalize(p.replaceAll('\\', '/')).replace(/\/+$/, '') || '.';
  if (isAbsolute(p) || normal === '..' || normal.startsWith('../')) {
    throw new DiscoveryError(`path ${JSON.stringify(p)} leaves the repository`);
  }
  return normal;
}

async function scan(root: string, rel: string): Promise<string[]> {
  const entries = await readdir(join(root, rel), { withFileTypes: true });
  // Any entry named Chart.yaml marks a chart, even one that is not a file: loading it then fails
  // with a clear error, instead of the chart silently vanishing (and being pruned).
  if (entries.some((e) => e.name === 'Chart.yaml')) return [rel];
  const out: string[] = [];
  for (const e of entries.sort((a, b) => compareBytes(a.name, b.name))) {
    if (!e.isDirectory() || e.name === '.git') continue;
    out.push(...(await scan(root, rel === '.' ? e.name : `${rel}/${e.name}`)));
  }
  return out;
}

/** With overlapping `paths`, a chart found inside another one is a subchart. */
function dropNested(sorted: string[]): string[] {
  return sorted.filter((c) => !sorted.some((p) => p !== c && (p === '.' || c.startsWith(`${p}/`))));
}
