/**
 * Reconcile of one Chartmuseum, level-triggered and idempotent: finalizer first; the old
 * repository cleaned up after a rename; repoName ownership; the token Secret and the CronJob;
 * registration with the sidecar when what would be sent changed (or the sidecar forgot it);
 * otherwise status refreshed from the sidecar's last sync (so scheduled runs show up).
 * Deletion: the sidecar repo, then the CronJob, then the finalizer.
 */
import { type RepoView, type SidecarClient, SidecarError, updateTokenFor } from '@chartsync/api';
import type { Logger } from 'pino';
import type { OperatorConfig } from '../config.js';
import { isAlreadyExists, isNotFound, JSON_PATCH, type KubeClient, paths } from '../kube/client.js';
import type { EventRecorder } from '../kube/events.js';
import type { Informer } from '../kube/informer.js';
import type { Metrics } from '../runtime/metrics.js';
import { claimantKeys, claimantsOf, ownerOf } from './claims.js';
import {
  getCondition,
  isAnnounced,
  isTransition,
  type Observation,
  READY,
  type Reason,
} from './conditions.js';
import { buildRequests, SpecError, secretReader } from './credentials.js';
import { type CronJob, desiredCronJob, hasDrifted, labelsOf, ownerReferenceTo } from './cronjob.js';
import { outcomeOfError, outcomeOfRepoView, type SyncOutcome } from './outcome.js';
import {
  type Chartmuseum,
  cronJobNameOf,
  FINALIZER,
  hasFinalizer,
  isDeleting,
  keyOf,
  MANAGED_BY,
  OWNER_LABEL,
  repoNameOf,
  splitKey,
  tokenSecretNameOf,
} from './resource.js';
import { conflictObservation, nextStatus, repoUrl, statusPatch } from './status.js';

export interface ReconcilerDeps {
  client: KubeClient;
  sidecar: SidecarClient;
  crs: Informer<Chartmuseum>;
  cronJobs: Informer<CronJob>;
  events: EventRecorder;
  cfg: OperatorConfig;
  log: Logger;
  metrics: Metrics;
  enqueue: (key: string) => void;
  /**
   * The reconcile of `before` writes the resource: called with what it will become before the
   * request (its watch event may come before the answer) and with the answer after it.
   */
  wrote: (before: Chartmuseum, after: Chartmuseum) => void;
  /** The resource from the informer cache when it is known to be current, else undefined. */
  cached: (key: string) => Chartmuseum | undefined;
  /** Told what a read from the API server returned (the cache is current once it has that). */
  readLive: (live: Chartmuseum) => void;
}

interface Registration {
  digest: string;
  /** The sync this registration started has not been seen finished yet. */
  pending: boolean;
  since: string | undefined;
}

/** Made by this operator (its label), as opposed to someone else's object of the same name. */
function isManaged(obj: { metadata: { labels?: Record<string, string> } }): boolean {
  return obj.metadata.labels?.['app.kubernetes.io/managed-by'] === MANAGED_BY;
}

/** Controlled by `cm` (an owner reference to its uid): a CronJob or token Secret it made. */
function isOwnedBy(
  obj: { metadata: { ownerReferences?: Array<{ uid: string }> } },
  cm: Chartmuseum,
): boolean {
  return obj.metadata.ownerReferences?.some((o) => o.uid === cm.metadata.uid) ?? false;
}

export class Reconciler {
  private readonly d: ReconcilerDeps;
  /**
   * uid -> digest of the requests last accepted by the sidecar (secrets never leave memory), and
   * while the sync that registration started is running, the `lastSync.at` the sidecar had when
   * it accepted it (a result with another time is the new one).
   */
  private readonly registered = new Map<string, Registration>();
  private readonly readSecret;
  /** Namespaces already cleared of the shared admin-token Secret of older versions. */
  private readonly legacyChecked = new Set<string>();
  /**
   * uid -> the token Secret content this process last saw right (its digest) and when: checked
   * again once older than a resync period, not on every reconcile (nothing watches Secrets).
   */
  private readonly tokenSeen = new Map<string, { token: string; at: number }>();

  constructor(deps: ReconcilerDeps) {
    this.d = deps;
    this.readSecret = secretReader(deps.client);
  }

  /** Reconciles one resource; asks to be called again while a sync it started is running. */
  async reconcile(key: string): Promise<{ requeueAfterMs?: number } | undefined> {
    let cm = this.d.cached(key) ?? (await this.read(key));
    if (!cm) return undefined;
    if (isDeleting(cm)) {
      await this.finalize(cm);
      return undefined;
    }
    if (!hasFinalizer(cm)) cm = await this.addFinalizer(cm);
    cm = await this.cleanupRenamed(cm);

    const repoName = repoNameOf(cm);
    const others = this.claimants([repoName]).filter((o) => keyOf(o) !== key);
    const owner = ownerOf(repoName, [cm, ...others]);
    if (owner && keyOf(owner) !== key) {
      await this.deleteCronJob(cm, false);
      await this.revokeTokenSecret(cm);
      // A loser that also registered the name (two first reconciles that did not see each other
      // yet) lets go of it: its status.repoName would make its deletion remove the owner's
      // repository, and its registration may have replaced the owner's, so the owner registers again.
      const letGo = cm.status?.repoName === repoName;
      await this.writeStatus(
        cm,
        { obs: conflictObservation(repoName, keyOf(owner)) },
        letGo ? { repoName: undefined, url: undefined } : {},
      );
      if (letGo) {
        this.registered.delete(owner.metadata.uid);
        this.d.enqueue(keyOf(owner));
      }
      return undefined;
    }

    let outcome: SyncOutcome & { retry?: boolean };
    let failure: unknown;
    try {
      // Inside the try: a token Secret or CronJob the API server refuses (a name too long for a
      // CronJob, a schedule it cannot parse, a Secret of that name not ours) is the resource's
      // status, not only a log line of a reconcile retried in silence.
      await this.ensureTokenSecret(cm, repoName);
      await this.ensureCronJob(cm);
      outcome = cm.spec.suspend ? await this.suspendedOutcome(repoName) : await this.sync(cm);
    } catch (err) {
      failure = err;
      outcome =
        err instanceof SpecError
          ? { obs: { status: 'False', reason: 'InvalidSpec', message: err.message } }
          : outcomeOfError(err);
      this.d.metrics.sidecarErrors.inc({ reason: outcome.obs.reason });
    }
    await this.writeStatus(cm, outcome, { repoName, url: repoUrl(this.d.cfg.chartmuseumUrl, repoName) });
    if (failure) throw failure;
    if (outcome.retry) {
      // The sync this registration started failed: register (and so sync) again with backoff.
      this.registered.delete(cm.metadata.uid);
      throw new Error(`sync of "${repoName}" failed: ${outcome.obs.message}`);
    }
    return outcome.obs.reason === 'Progressing' ? { requeueAfterMs: this.d.cfg.progressPollMs } : undefined;
  }

  /** The cached resources claiming one of `names`. */
  private claimants(names: string[]): Chartmuseum[] {
    return claimantsOf(names, (n) => this.d.crs.indexed(n));
  }

  /**
   * A read from the API server, when the cache may lag behind the operator's own last write of
   * the resource (or does not hold it).
   */
  private async read(key: string): Promise<Chartmuseum | undefined> {
    const { namespace, name } = splitKey(key);
    try {
      const live = await this.d.client.get<Chartmuseum>(paths.chartmuseums(namespace, name));
      this.d.readLive(live);
      return live;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  private async addFinalizer(cm: Chartmuseum): Promise<Chartmuseum> {
    const ops = [
      { op: 'test', path: '/metadata/resourceVersion', value: cm.metadata.resourceVersion },
      cm.metadata.finalizers
        ? { op: 'add', path: '/metadata/finalizers/-', value: FINALIZER }
        : { op: 'add', path: '/metadata/finalizers', value: [FINALIZER] },
    ];
    this.d.wrote(cm, {
      ...cm,
      metadata: { ...cm.metadata, finalizers: [...(cm.metadata.finalizers ?? []), FINALIZER] },
    });
    const updated = await this.d.client.patch<Chartmuseum>(
      paths.chartmuseums(cm.metadata.namespace, cm.metadata.name),
      ops,
      JSON_PATCH,
    );
    this.d.wrote(cm, updated);
    return updated;
  }

  private async removeFinalizer(cm: Chartmuseum): Promise<void> {
    const i = cm.metadata.finalizers?.indexOf(FINALIZER) ?? -1;
    if (i < 0) return;
    const ops = [
      { op: 'test', path: '/metadata/resourceVersion', value: cm.metadata.resourceVersion },
      { op: 'remove', path: `/metadata/finalizers/${i}` },
    ];
    await this.d.client.patch(paths.chartmuseums(cm.metadata.namespace, cm.metadata.name), ops, JSON_PATCH);
  }

  /** Forgets the repository, then the CronJob, then lets the resource go. */
  private async finalize(cm: Chartmuseum): Promise<void> {
    if (!hasFinalizer(cm)) return;
    const held = cm.status?.repoName;
    if (held && !this.ownsHeld(cm, held)) {
      this.d.log.warn(
        { chartmuseum: keyOf(cm), repo: held },
        'repository is owned by another resource; not removed',
      );
    } else if (held) {
      try {
        await this.deleteRepo(held);
      } catch (err) {
        const out = outcomeOfError(err);
        const obs: Observation = {
          ...out.obs,
          message: `cannot remove repository "${held}" yet, deletion waits: ${out.obs.message}`,
        };
        await this.writeStatus(cm, { obs }, {});
        throw err;
      }
    }
    await this.deleteCronJob(cm, true);
    await this.revokeTokenSecret(cm);
    await this.removeFinalizer(cm);
    this.registered.delete(cm.metadata.uid);
    this.tokenSeen.delete(cm.metadata.uid);
    this.d.log.info({ chartmuseum: keyOf(cm), repo: held }, 'cleaned up');
    // Another resource may have been waiting for this repoName.
    const names = [repoNameOf(cm), ...(held ? [held] : [])];
    for (const k of claimantKeys(names, this.claimants(names))) if (k !== keyOf(cm)) this.d.enqueue(k);
  }

  /**
   * Whether `cm` is the owner of the name its status says it holds: a resource never removes a
   * repository another resource owns (e.g. one of two that registered the name at once).
   */
  private ownsHeld(cm: Chartmuseum, held: string): boolean {
    const others = this.claimants([held]).filter((o) => keyOf(o) !== keyOf(cm));
    const owner = ownerOf(held, [cm, ...others]);
    return !owner || keyOf(owner) === keyOf(cm);
  }

  /** Removes the repository and the dependency repositories scoped to it. */
  private async deleteRepo(name: string): Promise<void> {
    try {
      await this.d.sidecar.deleteRepo(name);
    } catch (err) {
      if (!(err instanceof SidecarError && err.status === 404)) throw err;
    }
    // The sidecar removes them with the repository; a repository it never registered (its
    // first registration failed after the dependencies) leaves them to be removed here.
    await this.forgetDependencies(name, new Set());
  }

  /**
   * Removes the dependency repositories scoped to `repo` whose names are not in `keep`: those
   * dropped from spec.dependencies, or all of them when the repository goes. Shared ones (the
   * admin's) are never touched.
   */
  private async forgetDependencies(repo: string, keep: ReadonlySet<string>): Promise<void> {
    const stale = (await this.d.sidecar.listDependencies()).filter(
      (d) => d.repo === repo && !keep.has(d.name),
    );
    for (const d of stale) {
      try {
        await this.d.sidecar.deleteDependency(d.name, repo);
      } catch (err) {
        if (!(err instanceof SidecarError && err.status === 404)) throw err;
      }
    }
  }

  /** After spec.repoName changed: remove the repository registered under the old name. */
  private async cleanupRenamed(cm: Chartmuseum): Promise<Chartmuseum> {
    const held = cm.status?.repoName;
    if (!held || held === repoNameOf(cm)) return cm;
    if (this.ownsHeld(cm, held)) {
      try {
        await this.deleteRepo(held);
      } catch (err) {
        // Said on the resource (the spec's generation observed), not only in the operator's log.
        const out = outcomeOfError(err);
        const message = `cannot remove repository "${held}" after spec.repoName changed, the rename waits: ${out.obs.message}`;
        await this.writeStatus(cm, { obs: { ...out.obs, message } }, {});
        throw err;
      }
    }
    this.registered.delete(cm.metadata.uid);
    await this.d.events.record(
      cm,
      'Normal',
      'RepoRenamed',
      `repository "${held}" removed; now "${repoNameOf(cm)}"`,
    );
    const patch = { status: { repoName: null } };
    this.d.wrote(cm, { ...cm, status: { ...cm.status, repoName: undefined } });
    const updated = await this.d.client.patch<Chartmuseum>(
      `${paths.chartmuseums(cm.metadata.namespace, cm.metadata.name)}/status`,
      patch,
    );
    this.d.wrote(cm, updated);
    for (const k of claimantKeys([held], this.claimants([held]))) if (k !== keyOf(cm)) this.d.enqueue(k);
    return updated;
  }

  /**
   * Registers when what would be sent changed (or the sidecar forgot the repository); the sidecar
   * answers at once and syncs on its own, so no worker ever waits for a sync. Otherwise the
   * sidecar's view tells the outcome: still running, the result of the registration's sync, or
   * later (scheduled) syncs.
   */
  private async sync(cm: Chartmuseum): Promise<SyncOutcome & { retry?: boolean }> {
    const reqs = await buildRequests(cm, this.readSecret);
    const name = reqs.repo.name;
    const reg = this.registered.get(cm.metadata.uid);
    if (reg?.digest === reqs.digest) {
      const view = await this.d.sidecar.getRepo(name).catch((err) => {
        if (err instanceof SidecarError && err.status === 404) return undefined;
        throw err;
      });
      if (view) return this.progress(cm, reg, view);
      this.d.log.info(
        { chartmuseum: keyOf(cm), repo: name },
        'sidecar does not know the repository; registering again',
      );
    }
    for (const dep of reqs.dependencies) await this.d.sidecar.upsertDependency(dep);
    await this.forgetDependencies(name, new Set(reqs.dependencies.map((d) => d.name)));
    const view = await this.d.sidecar.registerRepo(reqs.repo);
    const fresh: Registration = { digest: reqs.digest, pending: true, since: view.lastSync?.at };
    this.registered.set(cm.metadata.uid, fresh);
    this.d.log.info({ chartmuseum: keyOf(cm), repo: name }, 'repository registered; sync started');
    return this.progress(cm, fresh, view);
  }

  private progress(cm: Chartmuseum, reg: Registration, view: RepoView): SyncOutcome & { retry?: boolean } {
    if (reg.pending) {
      const done = !view.syncing && view.lastSync !== undefined && view.lastSync.at !== reg.since;
      if (!done) {
        // A retry after a failure keeps reporting that failure until its own result is in
        // (no flapping False -> Unknown -> False, and no Event per retry).
        const current = getCondition(cm.status?.conditions, READY);
        if (current?.status === 'False')
          return { obs: { status: 'False', reason: current.reason as Reason, message: current.message } };
        return {
          obs: { status: 'Unknown', reason: 'Progressing', message: 'registered; first sync running' },
        };
      }
      reg.pending = false;
      const outcome = outcomeOfRepoView(view) as SyncOutcome;
      this.d.log.info(
        {
          chartmuseum: keyOf(cm),
          repo: view.name,
          commit: view.lastSync?.commit,
          reason: outcome.obs.reason,
        },
        'first sync finished',
      );
      return view.lastSync?.error ? { ...outcome, retry: true } : outcome;
    }
    return (
      outcomeOfRepoView(view) ?? {
        obs: { status: 'Unknown', reason: 'Progressing', message: 'waiting for the first sync' },
      }
    );
  }

  private async suspendedOutcome(name: string): Promise<SyncOutcome> {
    const view = await this.d.sidecar.getRepo(name).catch((err) => {
      if (err instanceof SidecarError && err.status === 404) return undefined;
      throw err;
    });
    const last = view ? outcomeOfRepoView(view) : undefined;
    const message = 'sync suspended by spec.suspend; what was published stays served';
    return { ...last, obs: { status: last?.obs.status ?? 'False', reason: 'Suspended', message } };
  }

  /**
   * The CronJob's Secret: the update token of this resource's repo only (see @chartsync/api
   * tokens.ts), never the admin token, which stays with the operator. Owned by the resource.
   */
  private async ensureTokenSecret(cm: Chartmuseum, repoName: string): Promise<void> {
    const admin = this.d.cfg.sidecarToken;
    if (!admin) return;
    const { namespace } = cm.metadata;
    await this.removeLegacyTokenSecret(namespace);
    const name = tokenSecretNameOf(cm);
    const data = { token: Buffer.from(updateTokenFor(admin, repoName)).toString('base64') };
    const seen = this.tokenSeen.get(cm.metadata.uid);
    if (seen?.token === data.token && Date.now() - seen.at < this.d.cfg.resyncMs) return;
    this.tokenSeen.delete(cm.metadata.uid);
    const secret = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name, namespace, labels: { ...labelsOf(cm) }, ownerReferences: [ownerReferenceTo(cm)] },
      type: 'Opaque',
      data,
    };
    const create = () =>
      this.d.client.create(paths.secrets(namespace), secret).then(
        () => true,
        (e) => {
          if (!isAlreadyExists(e)) throw e;
          return false;
        },
      );
    // A resource never reconciled before (no status yet) has no Secret: create it straight away.
    let done = !cm.status?.repoName && (await create());
    if (!done) {
      try {
        const live = await this.d.client.get<{
          metadata: { labels?: Record<string, string>; ownerReferences?: Array<{ uid: string }> };
          data?: Record<string, string>;
        }>(paths.secret(namespace, name));
        if (live.metadata.labels?.['app.kubernetes.io/managed-by'] !== MANAGED_BY)
          throw new SpecError(
            `Secret ${namespace}/${name} exists and is not managed by chartsync; rename or remove it`,
          );
        // Left by an earlier resource of the same name: owned by it, the garbage collector would
        // delete the Secret from under this one's CronJob once it notices that owner is gone.
        const owned = isOwnedBy(live, cm);
        if (live.data?.token !== data.token || !owned)
          await this.d.client.patch(paths.secret(namespace, name), {
            data,
            ...(owned ? {} : { metadata: { ownerReferences: secret.metadata.ownerReferences } }),
          });
        done = true;
      } catch (err) {
        if (!isNotFound(err)) throw err;
        done = await create(); // false: made meanwhile, checked on the next reconcile
      }
    }
    if (done) this.tokenSeen.set(cm.metadata.uid, { token: data.token, at: Date.now() });
  }

  /**
   * Empties the resource's token Secret (its owner reference lets the cluster's garbage collector
   * remove it with the resource): a resource that lost its repoName or is going away keeps no
   * token. Emptied rather than deleted: the operator has no right to delete Secrets.
   */
  private async revokeTokenSecret(cm: Chartmuseum): Promise<void> {
    this.tokenSeen.delete(cm.metadata.uid);
    await this.emptySecret(
      cm.metadata.namespace,
      tokenSecretNameOf(cm),
      (labels) => labels[OWNER_LABEL] === cm.metadata.name,
    );
  }

  /**
   * Versions before scoped tokens copied the admin token into one shared Secret per namespace
   * (CRONJOB_TOKEN_SECRET); if chartsync wrote it, its token is removed, once per namespace and process.
   */
  private async removeLegacyTokenSecret(namespace: string): Promise<void> {
    if (this.legacyChecked.has(namespace)) return;
    await this.emptySecret(namespace, this.d.cfg.tokenSecretName, () => true);
    this.legacyChecked.add(namespace);
  }

  /** Removes the `token` key of a Secret chartsync manages (and `ours` accepts); others are left alone. */
  private async emptySecret(
    namespace: string,
    name: string,
    ours: (labels: Record<string, string>) => boolean,
  ) {
    const path = paths.secret(namespace, name);
    try {
      const live = await this.d.client.get<{
        metadata: { labels?: Record<string, string> };
        data?: Record<string, string>;
      }>(path);
      const labels = live.metadata.labels ?? {};
      if (labels['app.kubernetes.io/managed-by'] !== MANAGED_BY || !ours(labels) || !live.data?.token) return;
      await this.d.client.patch(path, { data: { token: null } });
      this.d.log.info({ namespace, secret: name }, 'token removed from Secret');
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  /** The CronJob `cm` wants, with this operator's settings. */
  desiredCronJob(cm: Chartmuseum): CronJob {
    const cfg = this.d.cfg;
    return desiredCronJob(cm, {
      image: cfg.cronJobImage,
      sidecarUrl: cfg.cronJobSidecarUrl,
      tokenSecretName: cfg.sidecarToken ? tokenSecretNameOf(cm) : undefined,
    });
  }

  private async ensureCronJob(cm: Chartmuseum): Promise<void> {
    const desired = this.desiredCronJob(cm);
    const { namespace, name } = desired.metadata;
    let live = this.d.cronJobs.get(namespace, name);
    if (!live) {
      try {
        await this.d.client.create(paths.cronJobs(namespace), desired);
        await this.d.events.record(
          cm,
          'Normal',
          'CronJobCreated',
          `CronJob ${name} created, schedule "${desired.spec.schedule}"`,
        );
        return;
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
        live = await this.d.client.get<CronJob>(paths.cronJobs(namespace, name));
      }
    }
    // Not in the cache (it holds only labelled CronJobs) yet there: someone else's CronJob of that
    // name, which is never replaced (nor deleted, below) by ours.
    if (!isManaged(live) && !isOwnedBy(live, cm))
      throw new SpecError(
        `CronJob ${namespace}/${name} exists and is not managed by chartsync; rename or remove it`,
      );
    if (!hasDrifted(live, desired)) return;
    const replacement = {
      ...desired,
      metadata: { ...desired.metadata, resourceVersion: live.metadata.resourceVersion },
    };
    await this.d.client.replace(paths.cronJobs(namespace, name), replacement);
    await this.d.events.record(
      cm,
      'Normal',
      'CronJobUpdated',
      `CronJob ${name} set to schedule "${desired.spec.schedule}"${desired.spec.suspend ? ', suspended' : ''}`,
    );
  }

  /** `sure`: call the API even if the cache has no such CronJob (it may lag behind). */
  private async deleteCronJob(cm: Chartmuseum, sure: boolean): Promise<void> {
    const name = cronJobNameOf(cm);
    const path = paths.cronJobs(cm.metadata.namespace, name);
    let live = this.d.cronJobs.get(cm.metadata.namespace, name);
    try {
      if (!live && !sure) return;
      live ??= await this.d.client.get<CronJob>(path);
      // Only ours: a CronJob of that name controlled by another object, or someone else's
      // unlabelled one the cache does not hold, is left alone.
      if (!isOwnedBy(live, cm)) return;
      await this.d.client.delete(path);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  private async writeStatus(
    cm: Chartmuseum,
    outcome: SyncOutcome,
    extra: { repoName?: string; url?: string },
  ): Promise<void> {
    const next = nextStatus(cm, outcome, extra, new Date());
    const patch = statusPatch(cm.status, next);
    const prev = getCondition(cm.status?.conditions, READY);
    if (patch) {
      this.d.wrote(cm, { ...cm, status: next });
      const updated = await this.d.client.patch<Chartmuseum>(
        `${paths.chartmuseums(cm.metadata.namespace, cm.metadata.name)}/status`,
        patch,
      );
      this.d.wrote(cm, updated);
    }
    if (isTransition(prev, outcome.obs)) {
      this.d.log.info(
        {
          chartmuseum: keyOf(cm),
          ready: outcome.obs.status,
          reason: outcome.obs.reason,
          message: outcome.obs.message,
        },
        'Ready changed',
      );
      if (isAnnounced(prev, outcome.obs))
        await this.d.events.record(
          cm,
          outcome.obs.status === 'False' ? 'Warning' : 'Normal',
          outcome.obs.reason,
          outcome.obs.message,
        );
    }
  }
}
