/**
 * The controller: informers on Chartmuseum resources and on the operator's CronJobs (by label:
 * no other CronJob is listed or cached) feed a work queue of resource keys; workers run the
 * reconciler; a periodic resync re-queues every resource (this is also how status picks up the
 * results of scheduled CronJob runs). The operator's own writes do not queue their resource
 * again: a reconcile already holds what it wrote.
 */

import type { SidecarClient } from '@chartsync/api';
import type { Logger } from 'pino';
import type { OperatorConfig } from '../config.js';
import { type KubeClient, paths } from '../kube/client.js';
import { EventRecorder } from '../kube/events.js';
import { Informer, type InformerEvent } from '../kube/informer.js';
import type { Metrics } from '../runtime/metrics.js';
import { claimantKeys, claimantsOf, claimedNames } from './claims.js';
import { getCondition, READY } from './conditions.js';
import { type CronJob, hasDrifted } from './cronjob.js';
import { Freshness } from './freshness.js';
import { WorkQueue } from './queue.js';
import { Reconciler } from './reconciler.js';
import { type Chartmuseum, keyOf, MANAGED_BY, OWNER_LABEL, splitKey } from './resource.js';
import { stableJson } from './stable-json.js';
import { statusForCache } from './status.js';

export interface ControllerDeps {
  client: KubeClient;
  sidecar: SidecarClient;
  cfg: OperatorConfig;
  log: Logger;
  metrics: Metrics;
}

/** What of a resource, when it changes, calls for a reconcile (status-only writes do not). */
function trigger(cm: Chartmuseum): string {
  return JSON.stringify([
    cm.metadata.generation,
    cm.metadata.deletionTimestamp ?? '',
    cm.metadata.finalizers ?? [],
    cm.status?.repoName ?? '',
  ]);
}

/**
 * What the cache keeps of a Chartmuseum: no managedFields or annotations (unread), the chart list
 * as a digest (what a status write compares it with).
 */
function keepChartmuseum(cm: Chartmuseum): Chartmuseum {
  const {
    managedFields: _m,
    annotations: _a,
    ...metadata
  } = cm.metadata as Chartmuseum['metadata'] & {
    managedFields?: unknown;
  };
  const status = cm.status && statusForCache(cm.status);
  return { apiVersion: cm.apiVersion, kind: cm.kind, metadata, spec: cm.spec, ...(status ? { status } : {}) };
}

const statusOf = (cj: CronJob | undefined) => (cj as { status?: unknown } | undefined)?.status;

/** What the cache keeps of a CronJob: what drift is judged on (no managedFields, annotations). */
function keepCronJob(cj: CronJob): CronJob {
  const { managedFields: _m, annotations: _a, ...metadata } = cj.metadata;
  const status = (cj as { status?: Record<string, unknown> }).status;
  return {
    apiVersion: cj.apiVersion,
    kind: cj.kind,
    metadata,
    spec: cj.spec,
    // Only when a run was scheduled or finished: that is what may change the resource's status.
    ...(status
      ? {
          status: {
            lastScheduleTime: status.lastScheduleTime,
            lastSuccessfulTime: status.lastSuccessfulTime,
          },
        }
      : {}),
  } as CronJob;
}

export class Controller {
  private readonly d: ControllerDeps;
  readonly crs: Informer<Chartmuseum>;
  readonly cronJobs: Informer<CronJob>;
  private readonly queue: WorkQueue;
  private readonly reconciler: Reconciler;
  private readonly seen = new Map<string, { trigger: string; names: string[] }>();
  /** Whether the cache holds the operator's own last write of a resource (else: read the API). */
  private readonly freshness = new Freshness();
  private resyncTimer: NodeJS.Timeout | undefined;

  constructor(deps: ControllerDeps) {
    this.d = deps;
    const { cfg, log, metrics } = deps;
    const ns = cfg.watchNamespace;
    this.crs = new Informer<Chartmuseum>({
      client: deps.client,
      path: paths.chartmuseums(ns),
      log,
      keep: keepChartmuseum,
      // Who claims a repoName is looked up by name, not by scanning every resource.
      index: claimedNames,
      onEvent: (e, o) => this.onChartmuseum(e, o),
    });
    this.cronJobs = new Informer<CronJob>({
      client: deps.client,
      path: paths.cronJobs(ns),
      labelSelector: `app.kubernetes.io/managed-by=${MANAGED_BY}`,
      log,
      keep: keepCronJob,
      onEvent: (e, o, old) => this.onCronJob(e, o, old),
    });
    this.queue = new WorkQueue({
      workers: cfg.workers,
      backoffBaseMs: cfg.backoffBaseMs,
      backoffMaxMs: cfg.backoffMaxMs,
      handler: (key) => this.run(key),
      onError: (key, err, retryInMs) =>
        log.warn(
          { chartmuseum: key, err: (err as Error)?.message ?? String(err), retryInMs },
          'reconcile failed',
        ),
      onDepth: (n) => metrics.queueDepth.set(n),
    });
    this.reconciler = new Reconciler({
      client: deps.client,
      sidecar: deps.sidecar,
      crs: this.crs,
      cronJobs: this.cronJobs,
      events: new EventRecorder(deps.client, log, cfg.identity),
      cfg,
      log,
      metrics,
      enqueue: (key) => this.queue.add(key),
      wrote: (before, after) => this.wrote(before, after),
      cached: (key) => this.cached(key),
      readLive: (live) => this.freshness.read(keyOf(live), live.metadata.resourceVersion ?? ''),
    });
  }

  get synced(): boolean {
    return this.crs.synced && this.cronJobs.synced;
  }

  async start(): Promise<void> {
    // CronJobs first: reconciles triggered by the first Chartmuseum list then see them.
    await this.cronJobs.start();
    await this.crs.start();
    this.resyncTimer = setInterval(() => this.resync(), this.d.cfg.resyncMs);
    this.resyncTimer.unref();
    this.d.log.info({ namespace: this.d.cfg.watchNamespace || '(all)' }, 'controller started');
  }

  async stop(): Promise<void> {
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    this.crs.stop();
    this.cronJobs.stop();
    await this.queue.shutdown();
  }

  private async run(key: string): Promise<{ requeueAfterMs?: number } | undefined> {
    const end = this.d.metrics.reconcileSeconds.startTimer();
    this.d.log.debug({ chartmuseum: key }, 'reconcile');
    try {
      const next = await this.reconciler.reconcile(key);
      this.d.metrics.reconciles.inc({ result: 'ok' });
      return next;
    } catch (err) {
      this.d.metrics.reconciles.inc({ result: 'error' });
      throw err;
    } finally {
      end();
    }
  }

  private resync(): void {
    const byReason = new Map<string, number>();
    for (const cm of this.crs.list()) {
      this.queue.add(keyOf(cm));
      const reason = getCondition(cm.status?.conditions, READY)?.reason ?? 'Unknown';
      byReason.set(reason, (byReason.get(reason) ?? 0) + 1);
    }
    this.d.metrics.ready.reset();
    for (const [reason, n] of byReason) this.d.metrics.ready.set({ reason }, n);
  }

  private onChartmuseum(event: InformerEvent, cm: Chartmuseum): void {
    const key = keyOf(cm);
    const before = this.seen.get(key);
    const names = claimedNames(cm);
    if (event === 'delete') {
      this.seen.delete(key);
      this.freshness.forget(key);
      this.requeueClaimants([...names, ...(before?.names ?? [])], key);
      return;
    }
    const t = trigger(cm);
    this.seen.set(key, { trigger: t, names });
    if (before?.trigger === t) return;
    this.queue.add(key);
    this.requeueClaimants([...names, ...(before?.names ?? [])], key);
  }

  /**
   * A CronJob event queues its owner when the owner has something to do: the CronJob is gone,
   * differs from what the owner wants (edited, or the owner changed), or a run was scheduled or
   * finished. The add of a CronJob the operator just created queues nothing.
   */
  private onCronJob(event: InformerEvent, cj: CronJob, old: CronJob | undefined): void {
    const owner = cj.metadata.labels?.[OWNER_LABEL];
    if (!owner) return;
    const key = `${cj.metadata.namespace}/${owner}`;
    const cm = this.crs.get(cj.metadata.namespace, owner);
    const ran = event === 'update' && stableJson(statusOf(old)) !== stableJson(statusOf(cj));
    if (event === 'delete' || !cm || ran || hasDrifted(cj, this.reconciler.desiredCronJob(cm)))
      this.queue.add(key);
  }

  /**
   * The reconcile of `before` writes it, making it `after` (what it expects, then what the API
   * server answered): the watch event of that write is not a reason to reconcile again. Only when nothing else changed meanwhile (same generation, same
   * deletion state); resources that claim a name it took or gave up are re-evaluated.
   */
  private wrote(before: Chartmuseum, after: Chartmuseum): void {
    // Called once before the request (same resourceVersion) and once with the answer.
    const rv = after.metadata.resourceVersion;
    this.freshness.wrote(keyOf(after), rv === before.metadata.resourceVersion ? undefined : rv);
    if (
      after.metadata.generation !== before.metadata.generation ||
      (after.metadata.deletionTimestamp ?? '') !== (before.metadata.deletionTimestamp ?? '')
    )
      return;
    const key = keyOf(after);
    const prev = this.seen.get(key);
    const names = claimedNames(after);
    this.seen.set(key, { trigger: trigger(after), names });
    this.requeueClaimants([...names, ...(prev?.names ?? [])], key);
  }

  /** The cached resource when it holds the operator's own last write of it; else undefined. */
  private cached(key: string): Chartmuseum | undefined {
    const { namespace, name } = splitKey(key);
    const cm = this.crs.get(namespace, name);
    return cm && this.freshness.current(key, cm.metadata.resourceVersion) ? cm : undefined;
  }

  /** Other resources claiming one of `names` may have won or lost it. */
  private requeueClaimants(names: string[], except: string): void {
    const claimants = claimantsOf(names, (n) => this.crs.indexed(n));
    for (const k of claimantKeys(names, claimants)) if (k !== except) this.queue.add(k);
  }
}
