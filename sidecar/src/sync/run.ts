/**
 * One sync of one repo: remote head → (unchanged: done) → checkout → discover → rebuild the
 * charts whose change key moved → compare with what is published → publish, and prune after a
 * complete scan → remember. Nothing is published or removed before every chart was looked at,
 * and a failure before that point leaves the published repository exactly as it was.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { ApiError, type ChartSyncResult, type Reason, type SyncResult } from '@chartsync/api';
import type { BuildPool } from '../build/index.js';
import { sameChartContent } from '../chart/archive-content.js';
import { discoverCharts } from '../chart/index.js';
import type { DependencyRepository, StagedChart } from '../chart/model.js';
import { pickTrees, remoteTip, resolvedByClone, syncCheckout, type UrlPolicy } from '../git/index.js';
import type { Logger } from '../log/logger.js';
import type { OwnershipStore } from '../publish/ownership.js';
import {
  archiveName,
  type ChartRef,
  chartKey,
  PublishError,
  type PublishedVersion,
  type Publisher,
} from '../publish/publisher.js';
import type { RepoRecord } from '../registry/store.js';
import {
  changeKey,
  type DependencyLinks,
  declaredChartName,
  dependencyLinks,
  hashOf,
  linkClosure,
} from './change-keys.js';
import { chartFailureReason, publishFailureReason } from './errors.js';
import { PhaseTimer } from './phases.js';
import { byKey, FileClaims, placePackage, prunable } from './plan.js';
import { mapLimit } from './pool.js';
import { type ChartState, chartRecord, type RepoState, type StateStore } from './state.js';

export interface SyncContext {
  repo: RepoRecord;
  dependencies: DependencyRepository[];
  publisher: Publisher;
  states: StateStore;
  /** What this repo published to the target: the only versions prune may remove. */
  ownership: OwnershipStore;
  cloneDir: string;
  cacheDir: string;
  /** Where built archives wait until published: made (emptied) by the sync when it builds. */
  stagingDir: string;
  /** Runs the chart builds off the main thread. */
  builder: BuildPool;
  policy: UrlPolicy;
  /** The most a checkout may hold on disk (bytes); the git layer's default when absent. */
  maxCheckoutSize?: number | undefined;
  logger: Logger;
  signal?: AbortSignal;
  /** How many charts are packaged at once. */
  concurrency?: number;
}

/** A chart directory after the build step. */
interface Built {
  dir: string;
  key: string;
  /** Reused from the last sync: nothing to build or publish. */
  reused?: ChartState;
  pkg?: StagedChart;
  error?: string;
  reason?: Reason;
  /** For a failed build: the name Chart.yaml declares, when it can be read at all. */
  declaredName?: string;
}

const PROGRESS_EVERY_MS = 5000;
const FULL_SHA = /^([0-9a-f]{40}|[0-9a-f]{64})$/;

export async function runSync(ctx: SyncContext): Promise<SyncResult> {
  const started = performance.now();
  const { repo } = ctx;
  const prev = await ctx.states.read(repo.name);
  const configKey = hashOf({
    git: repo.git,
    ref: repo.ref ?? null,
    paths: repo.paths ?? null,
    prune: repo.prune,
  });
  const registryKey = hashOf(
    ctx.dependencies.map((d) => ({
      name: d.name,
      url: d.url,
      mirrorOf: d.mirrorOf,
      ...(d.repo ? { repo: d.repo } : {}),
    })),
  );
  const phases = new PhaseTimer();
  // Without a last commit there is nothing to compare the remote's with: a first sync of HEAD
  // or a full branch name leaves finding it to the checkout (within its clone).
  const tip =
    prev.commit === undefined && resolvedByClone(repo.ref)
      ? undefined
      : await remoteTip({
          url: repo.git,
          ref: repo.ref,
          auth: repo.auth,
          policy: ctx.policy,
          log: ctx.logger,
        });
  // Failed charts are retried by every update (a dependency repository may be back): the
  // no-change answer is only for a last sync whose charts all built.
  if (
    tip &&
    prev.commit === tip.commit &&
    prev.configKey === configKey + registryKey &&
    !hasFailedCharts(prev)
  ) {
    return {
      name: repo.name,
      commit: tip.commit,
      changed: false,
      durationMs: elapsed(started),
      charts: reportState(prev),
    };
  }
  checkAborted(ctx);
  const checkout = await syncCheckout({
    url: repo.git,
    // The commit just resolved: the checkout need not ask the remote again (a branch tip is
    // always fetchable; if the branch moved meanwhile, the git layer falls back to a full fetch).
    ref: tip && FULL_SHA.test(tip.commit) ? tip.commit : repo.ref,
    tip,
    auth: repo.auth,
    policy: ctx.policy,
    dir: ctx.cloneDir,
    maxSize: ctx.maxCheckoutSize,
    // off the event loop, and its garbage off the server's heap
    measure: (dir, cap, known) => ctx.builder.measureCheckout(dir, cap, known),
    log: ctx.logger,
  });
  // What the next no-change check compares with: the ref's commit as ls-remote answers it.
  const head = tip?.commit ?? checkout.commit;
  phases.mark('fetch');
  const dirs = await discover(ctx.cloneDir, repo.paths, (dir) =>
    ctx.logger.warn(
      { repo: repo.name, dir },
      'directory name is not valid UTF-8; not looked into for charts',
    ),
  );
  const { links, trees } = await linkClosure(
    dirs,
    (dir, tree) => (tree && prev.charts[dir]?.tree === tree ? prev.charts[dir]?.links : undefined),
    (dir) => dependencyLinks(ctx.cloneDir, dir),
    async (paths) => pickTrees(checkout.trees, paths),
  );
  phases.mark('discover');
  const published = await ctx.publisher.list(repo.name);
  phases.mark('list');
  const publishedByKey = byKey(published);
  // Built archives wait in the staging dir until published. Made only now, so an update that
  // finds nothing new touches no disk for it; whatever a crash left behind is dropped first.
  await rm(ctx.stagingDir, { recursive: true, force: true });
  await mkdir(ctx.stagingDir, { recursive: true });
  const built = await buildAll(
    ctx,
    dirs,
    prev,
    publishedByKey,
    (dir) => changeKey(dir, links, trees, registryKey),
    checkout.commitTime,
  );
  checkAborted(ctx);
  phases.mark('build');
  const fresh = built.flatMap((b) => (b.pkg && !publishedByKey.has(chartKey(b.pkg)) ? [b.pkg] : []));
  for (const v of (await ctx.publisher.occupied?.(repo.name, fresh)) ?? [])
    publishedByKey.set(chartKey(v), v);
  const decided = await decide(ctx, built, publishedByKey);
  const held = heldNames(built, prev);
  const remove = repo.prune ? await pruneList(ctx, published, decided, held) : [];
  const add = [...decided.values()].flatMap((d) => (d.result.action === 'published' && d.pkg ? [d.pkg] : []));
  await recordIntent(ctx, add);
  const outcome = await ctx.publisher.apply(repo.name, add, remove);
  phases.mark('publish');
  await recordOutcome(ctx, decided, publishedByKey, add, remove, outcome.failed);
  const charts = assemble(decided, remove, outcome.failed);
  const complete = outcome.failed.size === 0;
  const stateWritten = ctx.states.write(
    repo.name,
    nextState(decided, outcome.failed, complete ? head : undefined, configKey + registryKey, {
      links,
      trees,
      held,
    }),
  );
  stateWritten.catch((err) =>
    ctx.logger.warn({ err: (err as Error).message }, 'could not save the sync state'),
  );
  const result: SyncResult = {
    name: repo.name,
    commit: checkout.commit,
    changed: charts.some((c) => c.action === 'published' || c.action === 'pruned'),
    durationMs: elapsed(started),
    charts,
  };
  phases.mark('state');
  ctx.logger.debug({ phases: phases.spent, charts: dirs.length, rebuilt: add.length }, 'sync phases');
  if (!complete) throw new SyncPublishError(ctx.publisher.target, outcome.failed, result);
  return result;
}

/**
 * Per failed chart directory, the chart names whose published versions it holds: the name its
 * Chart.yaml declares (read leniently) and the names the directory held in the last sync. An
 * empty list means the directory's chart cannot be named at all.
 */
function heldNames(built: Built[], prev: RepoState): Map<string, string[]> {
  const held = new Map<string, string[]>();
  for (const b of built.filter((x) => x.error !== undefined)) {
    const before = prev.charts[b.dir];
    const earlier = before ? (before.error !== undefined ? (before.held ?? []) : [before.name]) : [];
    held.set(b.dir, [...new Set([...(b.declaredName ? [b.declaredName] : []), ...earlier])]);
  }
  return held;
}

/**
 * The published versions a complete scan prunes: owned by this repo (the ownership record) and
 * of charts no directory in git holds any more. A chart that failed to build is still in git,
 * so its versions stay; when a failed directory's chart cannot be named at all (its state lost,
 * its Chart.yaml unreadable), it could be any of them: nothing is pruned this time.
 */
async function pruneList(
  ctx: SyncContext,
  published: PublishedVersion[],
  decided: Map<string, Decided>,
  held: Map<string, string[]>,
): Promise<ChartRef[]> {
  const unnamed = [...held].filter(([, names]) => names.length === 0).map(([dir]) => dir);
  if (unnamed.length > 0) {
    ctx.logger.warn(
      { repo: ctx.repo.name, charts: unnamed },
      'not pruning: a chart that failed to build cannot be named, its published versions might be any',
    );
    return [];
  }
  const keep = new Set([...decided.values()].map((d) => d.result.name));
  for (const names of held.values()) for (const n of names) keep.add(n);
  return prunable(await ctx.ownership.owned(ctx.repo.name, published), keep);
}

/** Write-ahead: the ownership record lists what is about to be published before any of it is. */
async function recordIntent(ctx: SyncContext, add: StagedChart[]): Promise<void> {
  try {
    await ctx.ownership.update(ctx.repo.name, add.map(summary));
  } catch (err) {
    throw new PublishError(
      `${ctx.publisher.target}: could not record what ${ctx.repo.name} publishes: ${(err as Error).message}`,
      { cause: err },
    );
  }
}

/**
 * After publishing: pruned versions and failed uploads leave the record; a published version
 * identical in content to what this repo builds (`unchanged`) joins it — this is how ownership
 * is regained after lost bookkeeping. A version with other content (`conflict`) never does.
 */
async function recordOutcome(
  ctx: SyncContext,
  decided: Map<string, Decided>,
  published: Map<string, PublishedVersion>,
  add: StagedChart[],
  remove: ChartRef[],
  failed: Map<string, Error>,
): Promise<void> {
  const adopt = [...decided.values()].flatMap((d) => {
    const v = d.result.action === 'unchanged' ? published.get(chartKey(d.result)) : undefined;
    return v ? [v] : [];
  });
  const drop = [
    ...remove.filter((r) => !failed.has(chartKey(r))),
    ...add.filter((a) => failed.has(chartKey(a))),
  ];
  await ctx.ownership
    .update(ctx.repo.name, adopt, drop)
    .catch((err) =>
      ctx.logger.warn({ err: (err as Error).message }, 'could not update the ownership record'),
    );
}

/** Publishing failed for some charts: the sync as a whole failed, with the partial result attached. */
export class SyncPublishError extends ApiError {
  readonly result: SyncResult;
  constructor(target: string, failed: Map<string, Error>, result: SyncResult) {
    const first = [...failed].slice(0, 3).map(([k, e]) => `${k}: ${e.message}`);
    // One full target fails every write: StorageFull when any failure says so.
    const reasons = [...failed.values()].map(publishFailureReason);
    super(
      'upstream_failed',
      `publishing to ${target} failed for ${failed.size} chart(s): ${first.join('; ')}`,
      { reason: reasons.includes('StorageFull') ? 'StorageFull' : 'PublishFailed' },
    );
    this.result = result;
  }
}

async function discover(
  checkout: string,
  paths: string[] | undefined,
  onSkip: (dir: string) => void,
): Promise<string[]> {
  const found = await discoverCharts(checkout, paths, { onSkip });
  return found.map((d) => toRepoPath(checkout, d)).sort();
}

function toRepoPath(checkout: string, dir: string): string {
  const rel = dir.startsWith('/') ? relative(checkout, dir) : dir;
  return rel.split(sep).join('/') || '.';
}

async function buildAll(
  ctx: SyncContext,
  dirs: string[],
  prev: RepoState,
  published: Map<string, PublishedVersion>,
  keyOf: (dir: string) => string,
  mtime: Date,
): Promise<Built[]> {
  let done = 0;
  let lastProgress = performance.now();
  // The charts of this sync share dependency lookups (indexes, registry tokens, tag lists) in
  // whichever build thread they land (chart/dependencies/run-cache.ts); the next sync, a new id.
  const runId = randomUUID();
  return mapLimit(dirs, ctx.concurrency ?? ctx.builder.threads + 1, async (dir, i) => {
    checkAborted(ctx);
    const key = keyOf(dir);
    const before = prev.charts[dir];
    const built: Built =
      before &&
      !before.error &&
      before.key === key &&
      published.get(chartKey(before))?.digest === before.digest
        ? { dir, key, reused: before }
        : await buildOne(ctx, dir, key, mtime, join(ctx.stagingDir, `${i}.tgz`), runId);
    done++;
    if (performance.now() - lastProgress > PROGRESS_EVERY_MS) {
      lastProgress = performance.now();
      ctx.logger.info({ repo: ctx.repo.name, done, total: dirs.length }, 'sync progress');
    }
    return built;
  });
}

async function buildOne(
  ctx: SyncContext,
  dir: string,
  key: string,
  mtime: Date,
  out: string,
  runId: string,
): Promise<Built> {
  try {
    const task = {
      dir: join(ctx.cloneDir, dir),
      out,
      mtime: mtime.getTime(),
      dependencyUpdate: true,
      repositories: ctx.dependencies,
      runId,
      cacheDir: ctx.cacheDir,
      repoRoot: ctx.cloneDir,
    };
    const pkg = await ctx.builder.build(task, ctx.signal, ctx.logger);
    return { dir, key, pkg };
  } catch (err) {
    ctx.logger.warn({ repo: ctx.repo.name, chart: dir, err: (err as Error).message }, 'chart build failed');
    const declaredName = await declaredChartName(ctx.cloneDir, dir);
    return {
      dir,
      key,
      error: (err as Error).message,
      reason: chartFailureReason(err),
      ...(declaredName ? { declaredName } : {}),
    };
  }
}

interface Decided {
  dir: string;
  key: string;
  result: ChartSyncResult;
  pkg?: StagedChart;
}

/** What each built chart means against the published set (duplicates in the repo count as conflicts). */
async function decide(
  ctx: SyncContext,
  built: Built[],
  published: Map<string, PublishedVersion>,
): Promise<Map<string, Decided>> {
  const decided = new Map<string, Decided>();
  const claimed = new Map<string, string>();
  const files = new FileClaims([...published.values()]);
  for (const b of built) {
    if (b.error !== undefined || (!b.pkg && !b.reused)) {
      decided.set(b.dir, { dir: b.dir, key: b.key, result: failedResult(b) });
      continue;
    }
    const c = b.pkg ?? (b.reused as ChartState);
    const owner = claimed.get(chartKey(c));
    const collision =
      owner !== undefined
        ? `${c.name} ${c.version} is also defined in ${owner}`
        : files.claim(c, `in ${b.dir}`);
    if (collision !== undefined) {
      decided.set(b.dir, {
        dir: b.dir,
        key: b.key,
        result: { ...summary(c), action: 'failed', error: collision, reason: 'NameCollision' },
      });
      continue;
    }
    claimed.set(chartKey(c), b.dir);
    const action = b.pkg ? await placeBuilt(ctx, b.pkg, published) : 'unchanged';
    const result: ChartSyncResult = { ...summary(c), action };
    if (action === 'conflict') {
      result.error = conflictMessage(c, published);
      result.reason = 'VersionConflict';
    }
    decided.set(b.dir, { dir: b.dir, key: b.key, result, ...(b.pkg ? { pkg: b.pkg } : {}) });
  }
  return decided;
}

async function placeBuilt(ctx: SyncContext, pkg: StagedChart, published: Map<string, PublishedVersion>) {
  const placement = placePackage(pkg, published);
  if (placement === 'publish') return (await unlistedFileInTheWay(ctx, pkg)) ? 'conflict' : 'published';
  if (placement === 'unchanged') return 'unchanged' as const;
  const current = await ctx.publisher.fetch(ctx.repo.name, pkg);
  return current && (await sameChartContent(current, pkg.path))
    ? ('unchanged' as const)
    : ('conflict' as const);
}

/**
 * A storage directory can hold an archive its index does not list (copied in by someone else):
 * publishing would overwrite it. With the same content that is harmless (and indexes it); with
 * other content it is a conflict, and the file stays. The other targets list everything they hold.
 */
async function unlistedFileInTheWay(ctx: SyncContext, pkg: StagedChart): Promise<boolean> {
  if (ctx.publisher.kind !== 'local') return false;
  const current = await ctx.publisher.fetch(ctx.repo.name, pkg);
  if (current === undefined || (await sameChartContent(current, pkg.path))) return false;
  // Left by a batch of this repo cut short before its index was written: ours to replace.
  const digest = createHash('sha256').update(current).digest('hex');
  const ours = await ctx.ownership.owned(ctx.repo.name, [{ name: pkg.name, version: pkg.version, digest }]);
  return ours.length === 0;
}

function conflictMessage(
  c: { name: string; version: string },
  published: Map<string, PublishedVersion>,
): string {
  const digest = published.get(chartKey(c))?.digest;
  if (digest === undefined)
    return `${archiveName(c)} is already in the storage dir with different content, not published by this repo (not in its index); it is kept: bump the chart version or remove the file`;
  return `${c.name} ${c.version} is already published with different content (sha256:${digest.slice(0, 12)}); bump the chart version to publish the change`;
}

function summary(c: {
  name: string;
  version: string;
  digest: string;
}): Pick<ChartSyncResult, 'name' | 'version' | 'digest'> {
  return { name: c.name, version: c.version, digest: c.digest };
}

function failedResult(b: Built): ChartSyncResult {
  return {
    name: b.declaredName ?? b.dir,
    version: '',
    digest: '',
    action: 'failed',
    error: b.error ?? 'not built',
    reason: b.reason ?? 'InvalidChart',
  };
}

/** Results sorted by chart name, publish failures folded in. */
function assemble(
  decided: Map<string, Decided>,
  removed: ChartRef[],
  failed: Map<string, Error>,
): ChartSyncResult[] {
  const charts: ChartSyncResult[] = [...decided.values()].map(({ result }) => {
    const err = result.action === 'published' ? failed.get(chartKey(result)) : undefined;
    return err
      ? { ...result, action: 'failed', error: err.message, reason: publishFailureReason(err) }
      : result;
  });
  for (const ref of removed) {
    const err = failed.get(chartKey(ref));
    charts.push({
      ...ref,
      digest: '',
      action: err ? 'failed' : 'pruned',
      ...(err ? { error: err.message, reason: publishFailureReason(err) } : {}),
    });
  }
  return charts.sort((a, b) => a.name.localeCompare(b.name) || a.version.localeCompare(b.version));
}

/** Charts whose publication failed are left out, so the next sync builds and publishes them again. */
function nextState(
  decided: Map<string, Decided>,
  failed: Map<string, Error>,
  commit: string | undefined,
  configKey: string,
  sources: { links: Map<string, DependencyLinks>; trees: Map<string, string>; held: Map<string, string[]> },
): RepoState {
  const charts = chartRecord();
  for (const d of decided.values()) {
    const r = d.result;
    if (r.action === 'published' && failed.has(chartKey(r))) continue;
    charts[d.dir] = {
      key: d.key,
      name: r.name,
      version: r.version,
      digest: r.digest,
      ...(r.error ? { error: r.error } : {}),
      ...(r.reason ? { reason: r.reason } : {}),
      ...(r.action === 'conflict' ? { conflict: true } : {}),
      ...(sources.held.has(d.dir) ? { held: sources.held.get(d.dir) } : {}),
      ...cachedLinks(d.dir, sources),
    };
  }
  return { ...(commit ? { commit } : {}), configKey, charts };
}

function cachedLinks(
  dir: string,
  sources: { links: Map<string, DependencyLinks>; trees: Map<string, string> },
) {
  const tree = sources.trees.get(dir);
  const links = sources.links.get(dir);
  return tree && links ? { tree, links } : {};
}

function hasFailedCharts(state: RepoState): boolean {
  return Object.values(state.charts).some((c) => c.error !== undefined && !c.conflict);
}

/** The answer of an update that found nothing new: the charts as the last sync left them. */
function reportState(state: RepoState): ChartSyncResult[] {
  return Object.values(state.charts)
    .map((c) => ({
      name: c.name,
      version: c.version,
      digest: c.digest,
      action: c.conflict ? ('conflict' as const) : c.error ? ('failed' as const) : ('unchanged' as const),
      ...(c.error ? { error: c.error } : {}),
      ...(c.reason ? { reason: c.reason } : {}),
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

function checkAborted(ctx: SyncContext): void {
  if (ctx.signal?.aborted)
    throw new ApiError('shutting_down', `sync of ${ctx.repo.name} aborted: the sidecar is shutting down`);
}

function elapsed(started: number): number {
  return Math.round(performance.now() - started);
}
