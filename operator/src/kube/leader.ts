/**
 * Leader election on a coordination.k8s.io Lease, following client-go's algorithm: the holder
 * renews every retry period; others take over once the record has not changed for a lease
 * duration (measured on their own clock, so clock skew between pods does not matter); updates
 * use the resourceVersion, so two candidates can never both win.
 */
import type { Logger } from 'pino';
import { isAlreadyExists, isConflict, isNotFound, type KubeClient, paths } from './client.js';

export interface LeaderOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  log: Logger;
}

interface Lease {
  apiVersion: 'coordination.k8s.io/v1';
  kind: 'Lease';
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec: {
    holderIdentity?: string | null;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

/** MicroTime: RFC 3339 with exactly six fractional digits. */
function microTime(d = new Date()): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export class LeaderElector {
  private readonly client: KubeClient;
  private readonly o: LeaderOptions;
  private observed: { record: string; at: number } | undefined;
  private leading = false;
  private stopped = false;
  private wake: (() => void) | undefined;

  constructor(client: KubeClient, opts: LeaderOptions) {
    this.client = client;
    this.o = opts;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /**
   * Campaigns until elected, calls `onStarted`, then renews until leadership is lost (calls
   * `onLost`) or stop() is called.
   */
  async run(onStarted: () => void, onLost: () => void): Promise<void> {
    while (!this.stopped && !(await this.tryAcquireOrRenew())) await this.sleep(this.o.retryPeriodMs);
    if (this.stopped) return;
    this.leading = true;
    this.o.log.info(
      { lease: `${this.o.namespace}/${this.o.name}`, identity: this.o.identity },
      'became leader',
    );
    onStarted();
    let lastRenew = Date.now();
    while (!this.stopped) {
      await this.sleep(this.o.retryPeriodMs);
      if (this.stopped) break;
      // A renewal that hangs (API server stalled, connection black-holed) counts as failed once
      // the renew deadline passes: waiting for the request's own timeout would keep this instance
      // acting after a standby, seeing the lease unchanged for a lease duration, has taken over.
      const left = lastRenew + this.o.renewDeadlineMs - Date.now();
      if (await this.within(left, this.tryAcquireOrRenew())) {
        lastRenew = Date.now();
      } else if (Date.now() - lastRenew > this.o.renewDeadlineMs) {
        this.leading = false;
        this.o.log.error({ lease: `${this.o.namespace}/${this.o.name}` }, 'lost leadership');
        onLost();
        return;
      }
    }
  }

  /** Stops campaigning; a leader hands the lease back so a standby takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    if (!this.leading) return;
    this.leading = false;
    try {
      const lease = await this.client.get<Lease>(paths.lease(this.o.namespace, this.o.name));
      if (lease.spec.holderIdentity !== this.o.identity) return;
      lease.spec = { ...lease.spec, holderIdentity: null, leaseDurationSeconds: 1, renewTime: microTime() };
      await this.client.replace(paths.lease(this.o.namespace, this.o.name), lease);
    } catch (err) {
      this.o.log.warn({ err: (err as Error).message }, 'could not release the lease');
    }
  }

  /** `attempt`'s answer, or false once `ms` have passed without one. */
  private async within(ms: number, attempt: Promise<boolean>): Promise<boolean> {
    if (ms <= 0) return false;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    });
    try {
      return await Promise.race([attempt, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }

  private fresh(): Lease['spec'] {
    const now = microTime();
    return {
      holderIdentity: this.o.identity,
      leaseDurationSeconds: Math.ceil(this.o.leaseDurationMs / 1000),
      acquireTime: now,
      renewTime: now,
    };
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const path = paths.lease(this.o.namespace, this.o.name);
    let lease: Lease;
    try {
      lease = await this.client.get<Lease>(path);
    } catch (err) {
      if (!isNotFound(err)) return this.failed(err);
      try {
        const created: Lease = {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name: this.o.name, namespace: this.o.namespace },
          spec: { ...this.fresh(), leaseTransitions: 0 },
        };
        await this.client.create(paths.lease(this.o.namespace), created);
        return true;
      } catch (e) {
        return isAlreadyExists(e) ? false : this.failed(e);
      }
    }
    const holder = lease.spec.holderIdentity ?? '';
    const record = `${holder}|${lease.spec.renewTime ?? ''}|${lease.spec.leaseDurationSeconds ?? ''}`;
    if (this.observed?.record !== record) this.observed = { record, at: Date.now() };
    const durationMs = (lease.spec.leaseDurationSeconds ?? 0) * 1000;
    const expired = this.observed.at + durationMs < Date.now();
    if (holder && holder !== this.o.identity && !expired) return false;
    const takeover = holder !== this.o.identity;
    const spec = takeover
      ? { ...this.fresh(), leaseTransitions: (lease.spec.leaseTransitions ?? 0) + 1 }
      : {
          ...lease.spec,
          leaseDurationSeconds: Math.ceil(this.o.leaseDurationMs / 1000),
          renewTime: microTime(),
        };
    try {
      await this.client.replace(path, { ...lease, spec });
      return true;
    } catch (err) {
      return isConflict(err) ? false : this.failed(err);
    }
  }

  private failed(err: unknown): false {
    this.o.log.warn({ err: (err as Error).message }, 'leader election: lease request failed');
    return false;
  }
}
