/**
 * Change keys: a chart must be rebuilt when its own tree changed, when a chart it pulls in via
 * `file://` changed (that chart ships inside its package), or when it depends on remote
 * repositories and their registrations changed. Git tree ids make this cheap: no file is read
 * besides each chart's Chart.yaml / requirements.yaml.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { posix } from 'node:path';
import { parse } from 'yaml';
import { confine, fsPath, resolveRoot } from '../chart/index.js';

export interface DependencyLinks {
  /** Chart directories (relative to the checkout) named by `file://` dependencies. */
  local: string[];
  /** Whether any dependency comes from a remote repository. */
  remote: boolean;
}

/** The `name` a chart's Chart.yaml declares, read leniently (for charts that fail validation). */
export async function declaredChartName(checkout: string, chartDir: string): Promise<string | undefined> {
  try {
    const doc = parse((await readChartFile(checkout, chartDir, 'Chart.yaml')) ?? '') as { name?: unknown };
    return typeof doc?.name === 'string' && doc.name ? doc.name : undefined;
  } catch {
    return undefined;
  }
}

/** Reads the dependency list of a chart; unreadable files just mean "no links" (the build reports them). */
export async function dependencyLinks(checkout: string, chartDir: string): Promise<DependencyLinks> {
  const deps: { repository?: unknown }[] = [];
  for (const file of ['Chart.yaml', 'requirements.yaml']) {
    try {
      const text = (await readChartFile(checkout, chartDir, file)) ?? '';
      // Most charts declare no dependencies: no parse (and its garbage, 1,000 charts' worth on
      // the main thread) for a file that cannot hold the key.
      if (!text.includes('dependencies')) continue;
      const doc = parse(text) as { dependencies?: unknown };
      if (Array.isArray(doc?.dependencies)) deps.push(...doc.dependencies);
    } catch {
      // absent or invalid: nothing to link
    }
  }
  const links: DependencyLinks = { local: [], remote: false };
  for (const dep of deps) {
    const repo = typeof dep?.repository === 'string' ? dep.repository : '';
    if (repo.startsWith('file://')) {
      const target = posix.normalize(posix.join(chartDir, repo.slice('file://'.length)));
      if (!target.startsWith('..') && !posix.isAbsolute(target)) links.local.push(target);
    } else if (repo) {
      links.remote = true;
    }
  }
  return links;
}

/**
 * A file of a chart, read only where the chart loader would read it: the chart directory inside
 * the checkout, the file inside the chart directory (links resolved). Else undefined: a link
 * leading elsewhere must not leak another chart's name or dependencies into a sync result.
 */
async function readChartFile(checkout: string, chartDir: string, file: string): Promise<string | undefined> {
  try {
    const dir = await confine(await resolveRoot(checkout), chartDir);
    return await readFile(fsPath(await confine(dir, file, 'the chart directory')), 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * Every chart directory plus the transitive closure of their `file://` dependencies, with the
 * tree id of each. A chart whose tree id is the one `known` recorded keeps its recorded links,
 * so an update reads only the Chart.yaml files that changed.
 */
export async function linkClosure(
  chartDirs: string[],
  known: (dir: string, tree: string | undefined) => DependencyLinks | undefined,
  readLinks: (dir: string) => Promise<DependencyLinks>,
  treesOf: (dirs: string[]) => Promise<Map<string, string>>,
): Promise<{ links: Map<string, DependencyLinks>; trees: Map<string, string> }> {
  const trees = await treesOf(chartDirs);
  const links = new Map<string, DependencyLinks>();
  const pending = [...chartDirs];
  while (pending.length) {
    const dir = pending.pop() as string;
    if (links.has(dir)) continue;
    const l = known(dir, trees.get(dir)) ?? (await readLinks(dir));
    links.set(dir, l);
    pending.push(...l.local);
  }
  const outside = [...links.keys()].filter((d) => !trees.has(d));
  if (outside.length) for (const [d, t] of await treesOf(outside)) trees.set(d, t);
  return { links, trees };
}

/**
 * The key of one chart: its tree id, the tree ids of everything it reaches through `file://`,
 * and the dependency-registry key when it has remote dependencies.
 */
export function changeKey(
  chartDir: string,
  links: Map<string, DependencyLinks>,
  trees: Map<string, string>,
  dependencyRegistryKey: string,
): string {
  const hash = createHash('sha256');
  const seen = new Set<string>();
  let remote = false;
  const visit = (dir: string): void => {
    if (seen.has(dir)) return;
    seen.add(dir);
    hash.update(`${dir}\0${trees.get(dir) ?? 'missing'}\n`);
    const l = links.get(dir);
    remote ||= Boolean(l?.remote);
    for (const d of l?.local ?? []) visit(d);
  };
  visit(chartDir);
  if (remote) hash.update(`registry\0${dependencyRegistryKey}`);
  return hash.digest('hex');
}

export function hashOf(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex');
}
