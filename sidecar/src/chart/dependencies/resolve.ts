/**
 * Dependency resolution (the engine's loaders injected) with the result of `helm dependency build` followed by `helm package`:
 * every `dependencies[]` entry of Chart.yaml (requirements.yaml for apiVersion v1) ends up as a
 * subchart of the returned chart, and its lock is what helm would package.
 *
 * - A Chart.lock whose digest matches pins every version; a stale one is refused, as
 *   `helm dependency build` refuses it. Without a lock, versions are resolved and a new lock is
 *   produced whose `generated` is the packaging time (the commit time), so output is reproducible.
 * - Vendored `charts/` subcharts that satisfy a dependency are used as they are.
 * - `file://` dependencies are loaded from the same checkout: resolved with their links, they
 *   must stay inside `opts.repoRoot` (the chart directory itself when unset).
 * - http(s) dependencies are chosen from the repository index and downloaded; vendored archives
 *   of the same chart that they replace are dropped, as helm deletes them from `charts/`.
 * - oci:// dependencies are chosen from the registry's tags and pulled (sidecar/src/oci/).
 */
import { isAbsolute, resolve } from 'node:path';
import { ChartError } from '../errors.js';
import { marshalLock } from '../lock.js';
import type { ChartDependency, ChartLock, LoadedChart, PackageOptions } from '../model.js';
import { confine, PathEscapeError, resolveRoot } from '../secure-path.js';
import { toVersion } from '../version.js';
import { type Constraint, parseConstraint, satisfies } from './constraint.js';
import { fetchArchive, fetchIndex, type Source } from './fetcher.js';
import { redactUrl } from './http-get.js';
import { formatLockTime, hashReq, hashV2Req, type LockedDependency } from './lock.js';
import { availableVersions, chooseVersion, findVersion } from './repo-index.js';
import { type RepositoryRef, resolveRepositoryRef } from './repositories.js';

/** The engine's safe chart loaders (injected so that this module stays free of load details). */
export interface ChartLoaders {
  /** Loads the chart at `dir`, reading nothing outside `root`. */
  loadChartDir(root: string, dir: string): Promise<LoadedChart> | LoadedChart;
  loadChartArchive(data: Buffer, source: string): Promise<LoadedChart> | LoadedChart;
}

interface Planned {
  req: ChartDependency;
  ref: RepositoryRef;
  /** The constraint to satisfy: Chart.yaml's, or the exact version a matching lock pins. */
  constraint: Constraint;
  pinned?: string;
}

interface Outcome {
  locked: LockedDependency;
  /** How it was obtained, for the log. */
  how: 'vendored' | 'file' | 'downloaded' | 'cached';
  /** A vendored subchart used as is. */
  vendored?: LoadedChart;
  /** A chart fetched or loaded from a file:// path; `key` identifies it to avoid duplicates. */
  added?: { chart: LoadedChart; key: string };
}

/** Where the resolution is happening, for error messages and paths. */
interface Ctx {
  chart: LoadedChart;
  chartDir: string;
  opts: PackageOptions;
  /** Chart.yaml, or requirements.yaml for apiVersion v1. */
  depsFile: string;
  lockFile: string;
  loaders: ChartLoaders;
}

export async function resolveWith(
  loaders: ChartLoaders,
  chart: LoadedChart,
  chartDir: string,
  opts: PackageOptions,
): Promise<LoadedChart> {
  const reqs = chart.metadata.dependencies ?? [];
  if (reqs.length === 0) return chart;
  const v1 = chart.metadata.apiVersion === 'v1';
  const ctx: Ctx = {
    chart,
    chartDir,
    opts,
    depsFile: v1 ? 'requirements.yaml' : 'Chart.yaml',
    lockFile: v1 ? 'requirements.lock' : 'Chart.lock',
    loaders,
  };
  const refs = reqs.map((req) =>
    guard(ctx, req, undefined, () => resolveRepositoryRef(req.repository, opts.repositories ?? [])),
  );
  // helm hashes the dependencies after replacing `@name` by the repository's URL.
  const hashed = reqs.map((req, i) => {
    const ref = refs[i];
    return isRemote(ref) ? { ...req, repository: ref.url } : req;
  });
  const pins = pinnedVersions(ctx, hashed);
  const pinOf = pins && lockEntryFinder(pins);
  const planned = reqs.map((req, i): Planned => {
    const ref = refs[i] as RepositoryRef;
    const pinned = pinOf?.(req.name)?.version;
    const constraint = guard(ctx, req, ref, () => parseConstraint(pinned ?? req.version ?? ''));
    return { req, ref, constraint, ...(pinned !== undefined ? { pinned } : {}) };
  });
  const outcomes: Outcome[] = [];
  for (const p of planned) {
    const outcome = await guard(ctx, p.req, p.ref, () => resolveOne(ctx, p));
    logOutcome(ctx, p, outcome);
    outcomes.push(outcome);
  }
  const dependencies = assemble(chart, planned, outcomes);
  if (pins) return { ...chart, dependencies };
  const locked = outcomes.map((o) => o.locked);
  const lock: ChartLock = {
    generated: formatLockTime(opts.mtime),
    digest: hashReq(hashed, locked),
    dependencies: locked,
  };
  return withLock({ ...chart, dependencies }, lock, v1);
}

/**
 * The lock entry of each dependency, by name: the next entry of that name not yet taken (several
 * dependencies may name one chart under aliases). helm downloads what the lock lists by name, so
 * a lock whose entries are not in Chart.yaml's order still pins each dependency's own version.
 */
function lockEntryFinder(locked: LockedDependency[]): (name: string) => LockedDependency | undefined {
  const taken = new Set<number>();
  return (name) => {
    const i = locked.findIndex((d, j) => d.name === name && !taken.has(j));
    if (i < 0) return undefined;
    taken.add(i);
    return locked[i];
  };
}

/** The versions a Chart.lock pins, when its digest matches; a stale lock is an error. */
function pinnedVersions(ctx: Ctx, hashed: ChartDependency[]): LockedDependency[] | undefined {
  const lock = ctx.chart.lock;
  if (!lock) return undefined;
  const deps = lock.dependencies ?? [];
  const current = hashReq(hashed, deps);
  // Helm 2 wrote requirements.lock with another digest; helm still accepts it for v1 charts.
  const v2 =
    ctx.chart.metadata.apiVersion === 'v1' &&
    hashV2Req(ctx.chart.metadata.dependencies ?? []) === lock.digest;
  if (current === lock.digest || v2) return deps;
  throw new ChartError(
    chartName(ctx),
    ctx.lockFile,
    `the lock file is out of sync with the dependencies in ${ctx.depsFile} (its digest is ${lock.digest}, the dependencies hash to ${current}); run 'helm dependency update' and commit ${ctx.lockFile}`,
    { reason: 'DependencyUnresolved' },
  );
}

async function resolveOne(ctx: Ctx, p: Planned): Promise<Outcome> {
  switch (p.ref.kind) {
    case 'vendored':
      return resolveVendored(ctx, p);
    case 'file':
      return resolveFile(ctx, p, p.ref.path);
    case 'http':
    case 'oci': {
      const vendored = findVendored(ctx.chart, p.req.name, p.constraint);
      if (vendored)
        return { vendored, how: 'vendored', locked: lockEntry(p, p.ref.url, vendored.metadata.version) };
      return p.ref.kind === 'oci' ? resolveOci(ctx, p, p.ref) : resolveHttp(ctx, p, p.ref);
    }
  }
}

function resolveVendored(ctx: Ctx, p: Planned): Outcome {
  const present = ctx.chart.dependencies.filter((d) => d.metadata.name === p.req.name);
  if (present.length === 0) throw new Error(`no repository is given and charts/${p.req.name} does not exist`);
  const vendored = findVendored(ctx.chart, p.req.name, p.constraint);
  if (!vendored) {
    const versions = present.map((d) => d.metadata.version).join(', ');
    throw new Error(`the vendored chart in charts/ (version ${versions}) does not satisfy ${wanted(ctx, p)}`);
  }
  // helm locks a vendored dependency with its constraint, not the vendored version.
  return { vendored, how: 'vendored', locked: lockEntry(p, '', p.req.version ?? '') };
}

function findVendored(chart: LoadedChart, name: string, constraint: Constraint): LoadedChart | undefined {
  return chart.dependencies.find((d) => {
    const v = d.metadata.name === name ? toVersion(d.metadata.version) : undefined;
    return v !== undefined && satisfies(v, constraint);
  });
}

async function resolveFile(ctx: Ctx, p: Planned, path: string): Promise<Outcome> {
  const root = ctx.opts.repoRoot ?? ctx.chartDir;
  const dir = await localPath(ctx, root, path);
  const loaded = await ctx.loaders.loadChartDir(root, dir);
  const version = toVersion(loaded.metadata.version);
  if (!version || !satisfies(version, p.constraint)) {
    throw new Error(
      `the chart at ${path} has version ${loaded.metadata.version}, which does not satisfy ${wanted(ctx, p)}`,
    );
  }
  return {
    how: 'file',
    added: { chart: loaded, key: `file:${dir}` },
    locked: lockEntry(p, p.req.repository ?? '', loaded.metadata.version),
  };
}

/** The resolved directory of a file:// dependency, refused when it leaves the root. */
async function localPath(ctx: Ctx, root: string, path: string): Promise<string> {
  const target = isAbsolute(path) ? path : resolve(ctx.chartDir, path);
  const realRoot = await resolveRoot(root);
  return confine(realRoot, target, 'the repository').catch((err: NodeJS.ErrnoException) => {
    if (err instanceof PathEscapeError) throw new PathEscapeError(`file://${path}`, 'the repository');
    throw new Error(`directory ${path} not found (${err.code ?? err.message})`);
  });
}

async function resolveHttp(
  ctx: Ctx,
  p: Planned,
  ref: Extract<RepositoryRef, { kind: 'http' }>,
): Promise<Outcome> {
  const source: Source = { fetchUrl: ref.fetchUrl, registered: ref.registered };
  const index = await fetchIndex(source, ctx.opts);
  const entry = p.pinned
    ? findVersion(index, p.req.name, p.pinned)
    : chooseVersion(index, p.req.name, p.constraint);
  if (!entry) {
    const available = availableVersions(index, p.req.name);
    const what = p.pinned
      ? `version ${p.pinned} pinned by ${ctx.lockFile} is not in the index`
      : 'no version satisfies the constraint';
    throw new Error(`${what}; available: ${available}`);
  }
  const { data, url, cached } = await fetchArchive(source, entry, ctx.opts);
  const shown = redactUrl(url);
  const loaded = await ctx.loaders.loadChartArchive(data, shown);
  if (loaded.metadata.name !== p.req.name) {
    throw new Error(`${shown} holds chart '${loaded.metadata.name}', not '${p.req.name}'`);
  }
  return {
    how: cached ? 'cached' : 'downloaded',
    added: { chart: loaded, key: url },
    locked: lockEntry(p, ref.url, entry.version),
  };
}

async function resolveOci(
  ctx: Ctx,
  p: Planned,
  ref: Extract<RepositoryRef, { kind: 'oci' }>,
): Promise<Outcome> {
  const dep = { name: p.req.name, version: p.req.version, constraint: p.constraint, pinned: p.pinned };
  // Loaded on first use: the OCI client (and its HTTP stack) costs every build thread ~100 ms
  // of start-up and memory, and most charts have no oci:// dependency.
  const { fetchOciDependency } = await import('../../oci/dependency.js');
  const { version, data, url, cached } = await fetchOciDependency(ref.fetchUrl, dep, ctx.opts);
  const loaded = await ctx.loaders.loadChartArchive(data, url);
  if (loaded.metadata.name !== p.req.name) {
    throw new Error(`${url} holds chart '${loaded.metadata.name}', not '${p.req.name}'`);
  }
  return {
    how: cached ? 'cached' : 'downloaded',
    added: { chart: loaded, key: url },
    locked: lockEntry(p, ref.url, version),
  };
}

function isRemote(ref: RepositoryRef | undefined): ref is Extract<RepositoryRef, { kind: 'http' | 'oci' }> {
  return ref?.kind === 'http' || ref?.kind === 'oci';
}

function logOutcome(ctx: Ctx, p: Planned, o: Outcome): void {
  const from = isRemote(p.ref) ? redactUrl(p.ref.fetchUrl) : p.req.repository || 'charts/';
  ctx.opts.logger?.debug(
    {
      chart: chartName(ctx),
      dependency: p.req.alias ?? p.req.name,
      version: o.locked.version,
      from,
      how: o.how,
    },
    'dependency resolved',
  );
}

/** What a candidate must satisfy, in words: the constraint, or the version the lock pins. */
function wanted(ctx: Ctx, p: Planned): string {
  return p.pinned === undefined ? 'the constraint' : `version ${p.pinned} pinned by ${ctx.lockFile}`;
}

function lockEntry(p: Planned, repository: string, version: string): LockedDependency {
  return { name: p.req.name, repository, version };
}

/**
 * The subcharts to package: those already in charts/, minus vendored archives replaced by a
 * chart fetched for the same name (helm deletes those), plus each fetched chart once.
 */
function assemble(chart: LoadedChart, planned: Planned[], outcomes: Outcome[]): LoadedChart[] {
  const used = new Set(outcomes.flatMap((o) => (o.vendored ? [o.vendored] : [])));
  const replaced = new Set(planned.filter((_, i) => outcomes[i]?.added).map((p) => p.req.name));
  const kept = chart.dependencies.filter(
    (d) => used.has(d) || !(isArchive(d) && replaced.has(d.metadata.name)),
  );
  const added = new Map<string, LoadedChart>();
  for (const o of outcomes) if (o.added && !added.has(o.added.key)) added.set(o.added.key, o.added.chart);
  return [...kept, ...added.values()];
}

function isArchive(chart: LoadedChart): boolean {
  return /\.tgz$/i.test(chart.source);
}

/** The chart with a new lock: Chart.lock is written from `lock`; v1 keeps requirements.lock as a file. */
function withLock(chart: LoadedChart, lock: ChartLock, v1: boolean): LoadedChart {
  if (!v1) return { ...chart, lock };
  const file = { name: 'requirements.lock', data: marshalLock(lock) };
  const others = chart.files.filter((f) => f.name !== 'requirements.lock');
  return { ...chart, lock, files: [...others, file] };
}

function chartName(ctx: Ctx): string {
  return ctx.chart.metadata.name || ctx.chartDir;
}

function describe(req: ChartDependency, ref: RepositoryRef | undefined): string {
  // A repository that could not be classified is shown redacted too: it may be an oci:// or
  // http(s) URL refused for the very user info or query this must not print.
  const raw = req.repository || 'charts/';
  const from = isRemote(ref) ? redactUrl(ref.url) : raw.includes('://') ? redactUrl(raw) : raw;
  const mirror = isRemote(ref) ? redactUrl(ref.fetchUrl) : from;
  const via = mirror !== from ? ` via mirror ${mirror}` : '';
  return `dependency '${req.name}' (${req.version || 'no version'} from ${from}${via})`;
}

/** Runs `fn`, turning any failure into a ChartError naming the chart and the dependency. */
function guard<T>(ctx: Ctx, req: ChartDependency, ref: RepositoryRef | undefined, fn: () => T): T {
  const wrap = (err: unknown): never => {
    const message = err instanceof Error ? err.message : String(err);
    // A path leaving the repository keeps its kind through the wrapping: it is not a dependency
    // that failed to resolve, but an attempt to read outside the checkout.
    const escaped =
      err instanceof PathEscapeError || (err instanceof ChartError && err.reason === 'PathEscapesCheckout');
    throw new ChartError(chartName(ctx), ctx.depsFile, `${describe(req, ref)}: ${message}`, {
      cause: err,
      reason: escaped ? 'PathEscapesCheckout' : 'DependencyUnresolved',
    });
  };
  try {
    const result = fn();
    return (result instanceof Promise ? result.catch(wrap) : result) as T;
  } catch (err) {
    return wrap(err);
  }
}
