/**
 * A cache of one kind of object kept current by list + watch, that survives disconnects: the
 * watch resumes from the last resourceVersion it saw (bookmarks keep that fresh); `410 Gone`
 * (that version was compacted away) re-lists at once, and a re-list reports what changed while
 * nobody watched (adds, updates, deletes); any other failure (API server down, connection reset,
 * failed list) retries with exponential backoff. The cache holds only what `keep` returns of each
 * object: the operator caches what it reads, not whole objects (managedFields and the like).
 */
import type { Logger } from 'pino';
import { KubeApiError, type KubeClient, type OpenWatch, type WatchEvent } from './client.js';

export type InformerEvent = 'add' | 'update' | 'delete';

export interface InformerOptions<T> {
  client: KubeClient;
  /** Collection path, e.g. /apis/batch/v1/cronjobs */
  path: string;
  labelSelector?: string;
  log: Logger;
  /** `old`: what the cache held before an update. */
  onEvent: (event: InformerEvent, obj: T, old?: T) => void;
  /** Called after every successful (re)list. */
  onList?: () => void;
  /** Index values of an object, for `indexed()` (e.g. the names it claims). */
  index?: (obj: T) => string[];
  /** The part of an object the cache keeps (default: all of it). */
  keep?: (obj: T) => T;
  maxBackoffMs?: number;
  /** Server-side lifetime of one watch request, seconds (randomized up to twice this). */
  watchSeconds?: number;
}

/** Any object with metadata: the cache holds the API's JSON as is (timestamps stay strings). */
export interface Meta {
  metadata: { name: string; namespace: string; resourceVersion?: string };
}

const keyOf = (o: Meta) => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;

export class Informer<T extends Meta> {
  private readonly opts: InformerOptions<T>;
  private readonly cache = new Map<string, T>();
  /** index value -> keys of the cached objects that have it */
  private readonly byIndex = new Map<string, Set<string>>();
  private resourceVersion: string | undefined;
  private stopped = true;
  private failures = 0;
  private timer: NodeJS.Timeout | undefined;
  private current: OpenWatch | undefined;
  private listedOnce = false;
  private watches = 0;
  private lists = 0;

  constructor(opts: InformerOptions<T>) {
    this.opts = opts;
  }

  /** True once the first list completed: the cache can be trusted. */
  get synced(): boolean {
    return this.listedOnce;
  }

  /** Requests made so far (for metrics and tests): lists and watches opened. */
  get requests(): { lists: number; watches: number } {
    return { lists: this.lists, watches: this.watches };
  }

  /** Lists once (the cache is synced when this resolves), then keeps watching. */
  async start(): Promise<void> {
    this.stopped = false;
    try {
      await this.relist();
    } catch (err) {
      this.retryLater(err);
      return;
    }
    void this.loop();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.current?.abort();
  }

  get(namespace: string, name: string): T | undefined {
    return this.cache.get(`${namespace}/${name}`);
  }

  /** The cached objects whose `index` includes `value`. */
  indexed(value: string): T[] {
    return [...(this.byIndex.get(value) ?? [])].flatMap((k) => {
      const o = this.cache.get(k);
      return o ? [o] : [];
    });
  }

  list(namespace?: string): T[] {
    const all = [...this.cache.values()];
    return namespace === undefined ? all : all.filter((o) => o.metadata.namespace === namespace);
  }

  private query(): Record<string, string> {
    return this.opts.labelSelector ? { labelSelector: this.opts.labelSelector } : {};
  }

  private keep(obj: T): T {
    return this.opts.keep ? this.opts.keep(obj) : obj;
  }

  /** Lists everything and reports the difference to the cache as events. */
  private async relist(): Promise<void> {
    this.lists++;
    const list = await this.opts.client.list<T>(this.opts.path, this.query());
    const before = new Map(this.cache);
    this.cache.clear();
    this.byIndex.clear();
    const events: Array<[InformerEvent, T, T?]> = [];
    for (const item of list.items) {
      const obj = this.keep(item);
      const key = keyOf(obj);
      const old = before.get(key);
      this.put(key, obj);
      if (!old) events.push(['add', obj]);
      else if (old.metadata.resourceVersion !== obj.metadata.resourceVersion)
        events.push(['update', obj, old]);
      before.delete(key);
    }
    for (const gone of before.values()) events.push(['delete', gone]);
    this.resourceVersion = list.metadata.resourceVersion;
    this.listedOnce = true;
    this.opts.log.debug(
      { path: this.opts.path, items: list.items.length, resourceVersion: this.resourceVersion },
      'listed',
    );
    for (const [e, o, old] of events) this.opts.onEvent(e, o, old);
    this.opts.onList?.();
  }

  private onWatchEvent(e: WatchEvent<T>): void {
    const rv = e.object?.metadata?.resourceVersion;
    if (e.type === 'ERROR') {
      const status = e.object as unknown as { code?: number; reason?: string; message?: string };
      throw new KubeApiError(
        status.code ?? 0,
        status.reason ?? '',
        `watch ${this.opts.path}: ${status.message}`,
      );
    }
    if (rv) this.resourceVersion = rv;
    if (e.type === 'BOOKMARK') return;
    const obj = this.keep(e.object);
    const key = keyOf(obj);
    if (e.type === 'DELETED') {
      this.remove(key);
      this.opts.onEvent('delete', obj);
      return;
    }
    const old = this.cache.get(key);
    this.put(key, obj);
    if (old) this.opts.onEvent('update', obj, old);
    else this.opts.onEvent('add', obj);
  }

  private put(key: string, obj: T): void {
    this.remove(key);
    this.cache.set(key, obj);
    for (const v of this.opts.index?.(obj) ?? []) {
      const keys = this.byIndex.get(v) ?? new Set<string>();
      keys.add(key);
      this.byIndex.set(v, keys);
    }
  }

  private remove(key: string): void {
    const old = this.cache.get(key);
    if (!old) return;
    this.cache.delete(key);
    for (const v of this.opts.index?.(old) ?? []) {
      const keys = this.byIndex.get(v);
      keys?.delete(key);
      if (keys?.size === 0) this.byIndex.delete(v);
    }
  }

  /** Watch after watch from the last resourceVersion; re-lists on 410 Gone. */
  private async loop(): Promise<void> {
    while (!this.stopped) {
      try {
        const base = this.opts.watchSeconds ?? 300;
        let failed: unknown;
        this.watches++;
        const w = await this.opts.client.watch<T>(
          this.opts.path,
          { ...this.query(), resourceVersion: this.resourceVersion ?? '' },
          base + Math.floor(Math.random() * base),
          (e) => {
            if (failed) return;
            try {
              this.onWatchEvent(e);
            } catch (err) {
              failed = err;
              w.abort();
            }
          },
        );
        this.current = w;
        await w.done.catch((err) => {
          throw failed ?? err;
        });
        if (failed) throw failed;
        this.failures = 0;
      } catch (err) {
        if (this.stopped) return;
        let failure = err;
        if (err instanceof KubeApiError && err.code === 410) {
          this.opts.log.info({ path: this.opts.path }, 'watch expired (410 Gone); re-listing');
          try {
            await this.relist();
            continue;
          } catch (e) {
            failure = e;
          }
        }
        this.retryLater(failure);
        return;
      } finally {
        this.current = undefined;
      }
    }
  }

  private retryLater(err: unknown): void {
    if (this.stopped) return;
    this.failures++;
    const delay = Math.min(this.opts.maxBackoffMs ?? 30_000, 250 * 2 ** Math.min(this.failures, 10));
    this.opts.log.warn(
      { path: this.opts.path, err: (err as Error)?.message ?? String(err), retryInMs: delay },
      'watch failed; restarting',
    );
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.stopped) return;
      // Resume the watch when there is a version to resume from; list when there is none yet.
      if (this.listedOnce) void this.loop();
      else void this.start();
    }, delay);
    this.timer.unref();
  }
}
