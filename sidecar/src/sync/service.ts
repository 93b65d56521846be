/**
 * The sidecar's operations, independent of HTTP: registrations, syncs (coalesced and serialised
 * per repo), removal and shutdown. The HTTP routes, the standalone scheduler and the one-shot
 * `chartsync sync` all drive this one class.
 */
import { mkdir, rm } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import {
  ApiError,
  type DependencyView,
  type ErrorBody,
  type RepoView,
  type SyncResult,
} from '@chartsync/api';
import { BuildPool, type BuildPoolOptions } from '../build/index.js';
import { visibleTo } from '../chart/dependencies/scope.js';
import type { DependencyRepository } from '../chart/model.js';
import { type UrlPolicy, useSecretsDir } from '../git/index.js';
import { redactUrl } from '../git/redact.js';
import type { Logger } from '../log/logger.js';
import type { SidecarMetrics } from '../metrics/metrics.js';
import { OwnershipStore } from '../publish/ownership.js';
import { chartKey, type Publisher } from '../publish/publisher.js';
import { dependencyView, type RegistryStore, type RepoRecord, repoView } from '../registry/store.js';
import { removeTree } from '../storage/remove-tree.js';
import { Coalescer, SerialQueue } from './coalesce.js';
import { toApiError } from './errors.js';
import { runSync, SyncPublishError } from './run.js';
import { StateStore } from './state.js';

export interface SyncServiceOptions {
  dataDir: string;
  registry: RegistryStore;
  publisher: Publisher;
  policy: UrlPolicy;
  logger: Logger;
  metrics?: SidecarMetrics;
  concurrency?: number;
  /** Build threads and the time box of one chart build. */
  build?: BuildPoolOptions;
  /** The most a checkout may hold on disk (bytes); default 1 GiB. */
  maxCheckoutSize?: number;
  /** Told about every (re-)registration and removal, e.g. to keep schedules in step. */
  listener?: RegistrationListener;
}

export interface RegistrationListener {
  registered(repo: RepoRecord): Promise<void>;
  removed(name: string): Promise<void>;
}

interface RepoRuntime {
  updates: Coalescer<SyncResult>;
  queue: SerialQueue;
  /** The latest outcome, shown at once: its copy on disk is written after the answer. */
  lastSync?: RepoRecord['lastSync'];
}

export class SyncService {
  readonly publisher: Publisher;
  private readonly opts: SyncServiceOptions;
  private readonly states: StateStore;
  private readonly ownership: OwnershipStore;
  private readonly runtimes = new Map<string, RepoRuntime>();
  private readonly abort = new AbortController();
  private readonly builder: BuildPool;

  constructor(opts: SyncServiceOptions) {
    this.opts = opts;
    this.publisher = opts.publisher;
    // Bookkeeping lives beside the published charts when the target is a directory, so a new
    // pod (or a lost data dir) still knows what it published; else in the data dir.
    const home = (repo: string) => this.bookkeepingDir(repo);
    this.states = new StateStore(home);
    this.ownership = new OwnershipStore(home);
    // One core stays with the thread that answers HTTP and runs the schedules (and each build
    // thread costs ~25 MiB): all cores but one build — but at least two, because a build may
    // spend up to a minute waiting on a stalled dependency repository, and one such chart must
    // not hold every other chart (of every repo) behind it.
    this.builder = new BuildPool({ threads: Math.max(2, availableParallelism() - 1), ...opts.build });
  }

  // ---- dependency repositories

  /** Takes a registration validated by registry/registration.ts. */
  async upsertDependency(dep: DependencyRepository): Promise<DependencyView> {
    await this.opts.registry.putDependency(dep);
    this.opts.logger.info(
      { dependency: dep.name, ...(dep.repo ? { scope: dep.repo } : {}), url: redactUrl(dep.url) },
      'dependency repository registered',
    );
    return dependencyView(dep);
  }
  listDependencies(): DependencyView[] {
    return this.opts.registry.dependencies().map(dependencyView);
  }
  /** Removes the shared registration `name`, or with `repo` the one scoped to that repo. */
  async removeDependency(name: string, repo?: string): Promise<void> {
    if (!(await this.opts.registry.removeDependency(name, repo))) {
      const scope =
        repo === undefined ? 'shared dependency repository' : `dependency repository of repo "${repo}"`;
      throw new ApiError('not_found', `${scope} "${name}" is not registered`);
    }
    this.opts.logger.info(
      { dependency: name, ...(repo ? { scope: repo } : {}) },
      'dependency repository removed',
    );
  }

  // ---- git repositories

  /**
   * Registers (or re-registers) a repo and syncs it. The registration stays when the sync fails.
   * Takes a registration validated by registry/registration.ts (the one path for every source).
   */
  async upsertRepo(record: RepoRecord): Promise<SyncResult> {
    await this.register(record);
    return this.update(record.name);
  }

  /** Registers (or re-registers) a validated repo without syncing it. */
  async register(record: RepoRecord): Promise<void> {
    await this.runtime(record.name).queue.run(async () => {
      const before = this.opts.registry.repo(record.name);
      // A clone of another URL or ref is of no use: start from an empty checkout. The sync
      // state stays: it names the charts each directory published (so a chart failing at the
      // new ref is not pruned), and its keys are content hashes, valid for any ref.
      if (before && (before.git !== record.git || before.ref !== record.ref))
        await this.forgetClone(record.name);
      await this.opts.registry.putRepo({
        ...record,
        ...(before?.lastSync ? { lastSync: before.lastSync } : {}),
      });
    });
    await this.opts.listener?.registered(record);
    this.opts.logger.info(
      { repo: record.name, git: redactUrl(record.git), ref: record.ref },
      'repository registered',
    );
  }

  /** Registrations, sync state, clones and caches live here. */
  get dataDir(): string {
    return this.opts.dataDir;
  }

  listRepos(): RepoView[] {
    return this.opts.registry.repos().map((r) => this.view(r));
  }
  getRepo(name: string): RepoView {
    return this.view(this.requireRepo(name));
  }

  private view(repo: RepoRecord): RepoView {
    const latest = this.runtimes.get(repo.name)?.lastSync;
    return repoView(latest ? { ...repo, lastSync: latest } : repo, this.isSyncing(repo.name));
  }

  /** Fetches and syncs now; concurrent calls coalesce into at most one follow-up run. */
  update(name: string): Promise<SyncResult> {
    this.requireRepo(name);
    this.checkRunning();
    const rt = this.runtime(name);
    return rt.updates.run(() => rt.queue.run(() => this.syncNow(name)));
  }

  /** Starts an update without waiting; its outcome is logged and kept as `lastSync`. */
  updateInBackground(name: string): void {
    this.update(name).catch(() => undefined);
  }

  /**
   * Forgets the repo: waits for its sync, removes every chart version it published (the
   * ownership record says which: never one someone else uploaded), its clone and state.
   */
  async removeRepo(name: string): Promise<void> {
    this.requireRepo(name);
    const rt = this.runtime(name);
    await rt.queue.run(async () => {
      if (!this.opts.registry.repo(name))
        throw new ApiError('not_found', `repository "${name}" is not registered`);
      try {
        await this.removeOwnedCharts(name);
        await this.ownership.remove(name);
        await this.states.remove(name);
        await this.publisher.removeRepo(name);
        await rm(this.bookkeepingDir(name), { recursive: true, force: true });
      } catch (err) {
        throw toApiError(err);
      }
      await this.forgetClone(name);
      await removeTree(this.scopedCacheDir(name));
      // its scoped dependency repositories go with it
      await this.opts.registry.removeRepo(name);
      rt.lastSync = undefined;
    });
    // Only an idle runtime goes: a re-registration or a coalesced follow-up sync queued behind
    // this removal still runs on it, and a new runtime would let the next sync of the same name
    // run beside that one (sharing clone, staging dir, state and index).
    if (this.runtimes.get(name) === rt && rt.queue.idle && !rt.updates.busy) this.runtimes.delete(name);
    await this.opts.listener?.removed(name);
    this.opts.logger.info({ repo: name }, 'repository removed with its charts');
  }

  private async removeOwnedCharts(name: string): Promise<void> {
    const owned = await this.ownership.owned(name, await this.publisher.list(name));
    const { failed } = await this.publisher.apply(name, [], owned);
    const gone = owned.filter((v) => !failed.has(chartKey(v)));
    await this.ownership.update(name, [], gone);
    const first = failed.values().next();
    if (!first.done) throw first.value;
  }

  /** Aborts in-flight syncs between charts and waits until every repo is idle. */
  async shutdown(): Promise<void> {
    this.abort.abort();
    await Promise.all([...this.runtimes.values()].map((rt) => rt.updates.idle()));
    await this.builder.close();
  }

  /** The git URL policy registrations are checked against. */
  get policy(): UrlPolicy {
    return this.opts.policy;
  }

  get shuttingDown(): boolean {
    return this.abort.signal.aborted;
  }

  // ---- internals

  private async syncNow(name: string): Promise<SyncResult> {
    const repo = this.requireRepo(name);
    const log = this.opts.logger.child({ repo: name });
    const started = performance.now();
    log.info({ git: redactUrl(repo.git), ref: repo.ref }, 'sync started');
    const stagingDir = join(this.opts.dataDir, 'staging', name);
    try {
      const result = await runSync({
        repo,
        // this repo's own registrations and the shared ones, never another repo's (scope.ts)
        dependencies: visibleTo(this.opts.registry.dependencies(), name),
        publisher: this.publisher,
        states: this.states,
        ownership: this.ownership,
        cloneDir: this.cloneDir(name),
        cacheDir: this.archiveCacheDir(name),
        stagingDir,
        builder: this.builder,
        policy: this.opts.policy,
        maxCheckoutSize: this.opts.maxCheckoutSize,
        logger: log,
        signal: this.abort.signal,
        ...(this.opts.concurrency ? { concurrency: this.opts.concurrency } : {}),
      });
      // The last result is kept on disk off the answer's path: it is a report, not a registration.
      this.recordResult(name, result).catch((err) =>
        log.warn({ err: (err as Error).message }, 'could not record the sync result'),
      );
      this.observe(name, result.changed ? 'changed' : 'unchanged', started, result);
      log.info(
        {
          commit: result.commit,
          changed: result.changed,
          durationMs: result.durationMs,
          ...countActions(result),
        },
        'sync finished',
      );
      return result;
    } catch (err) {
      const apiErr = toApiError(err);
      const partial = err instanceof SyncPublishError ? err.result : undefined;
      await this.recordResult(name, partial, {
        error: apiErr.code,
        message: apiErr.message,
        reason: apiErr.reason,
      }).catch(() => undefined);
      this.observe(name, 'failed', started, partial);
      log.error({ code: apiErr.code, reason: apiErr.reason, err: apiErr.message }, 'sync failed');
      throw apiErr;
    } finally {
      await rm(stagingDir, { recursive: true, force: true });
    }
  }

  private async recordResult(name: string, result: SyncResult | undefined, error?: ErrorBody): Promise<void> {
    const repo = this.opts.registry.repo(name);
    if (!repo) return;
    const last = result ?? {
      name,
      commit: repo.lastSync?.commit ?? '',
      changed: false,
      durationMs: 0,
      charts: repo.lastSync?.charts ?? [],
    };
    const lastSync = { ...last, at: new Date().toISOString(), ...(error ? { error } : {}) };
    // Visible before it is written: a status call right after the answer sees this outcome.
    this.runtime(name).lastSync = lastSync;
    await this.opts.registry.putRepo({ ...repo, lastSync });
  }

  private observe(name: string, outcome: string, started: number, result: SyncResult | undefined): void {
    const m = this.opts.metrics;
    if (!m) return;
    m.syncs.inc({ repo: name, result: outcome });
    m.syncDuration.observe({ result: outcome }, (performance.now() - started) / 1000);
    for (const c of result?.charts ?? [])
      if (c.action !== 'unchanged') m.chartsPublished.inc({ repo: name, action: c.action });
  }

  private requireRepo(name: string): RepoRecord {
    const repo = this.opts.registry.repo(name);
    if (!repo) throw new ApiError('not_found', `repository "${name}" is not registered`);
    return repo;
  }

  private checkRunning(): void {
    if (this.shuttingDown) throw new ApiError('shutting_down', 'the sidecar is shutting down');
  }

  private isSyncing(name: string): boolean {
    return this.runtimes.get(name)?.updates.busy ?? false;
  }

  private runtime(name: string): RepoRuntime {
    let rt = this.runtimes.get(name);
    if (!rt) {
      rt = { updates: new Coalescer(), queue: new SerialQueue() };
      this.runtimes.set(name, rt);
    }
    return rt;
  }

  /**
   * Where a sync keeps downloaded dependency archives. The cache is content-addressed, but an
   * index naming a digest is enough to read an archive from it: a repo with registrations of
   * its own (their credentials) gets a directory of its own, so no other repo's sync is served
   * what those credentials fetched. Repos that see only shared registrations share one.
   */
  private archiveCacheDir(name: string): string {
    const scoped = this.opts.registry.dependencies().some((d) => d.repo === name);
    return scoped ? this.scopedCacheDir(name) : join(this.opts.dataDir, 'cache');
  }

  private scopedCacheDir(name: string): string {
    return join(this.opts.dataDir, 'cache', 'repo', name);
  }

  private cloneDir(name: string): string {
    return join(this.opts.dataDir, 'clones', name);
  }

  private bookkeepingDir(name: string): string {
    return this.publisher.bookkeepingDir?.(name) ?? join(this.opts.dataDir, 'state', name);
  }

  private async forgetClone(name: string): Promise<void> {
    // removeTree: a clone with paths too long for one fs call must not wedge the registration
    await removeTree(this.cloneDir(name));
  }

  /** Creates the data directories; called once at start-up. */
  async init(): Promise<void> {
    await mkdir(join(this.opts.dataDir, 'clones'), { recursive: true });
    // per-command secrets (ssh keys, askpass) in a place a restart finds and cleans
    const stale = await useSecretsDir(join(this.opts.dataDir, 'secrets'));
    if (stale) this.opts.logger.info({ stale }, 'removed secrets left by git commands of an earlier run');
  }
}

function countActions(result: SyncResult): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const c of result.charts) counts[c.action] = (counts[c.action] ?? 0) + 1;
  return counts;
}
