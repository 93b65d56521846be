/**
 * A cache of one kind of object kept current by list + watch (client-node's ListWatch), that
 * survives disconnects: ListWatch itself re-lists on 410 Gone and reconnects on watch timeouts;
 * any other error (API server down, connection reset, failed list) restarts it with
 * exponential backoff here.
 */
import { type KubeConfig, type KubernetesObject, ListWatch, Watch } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { KubeClient } from './client.js';

export type InformerEvent = 'add' | 'update' | 'delete';

export interface InformerOptions<T> {
  kc: KubeConfig;
  client: KubeClient;
  /** Collection path, e.g. /apis/batch/v1/cronjobs */
  path: string;
  labelSelector?: string;
  log: Logger;
  onEvent: (event: InformerEvent, obj: T) => void;
  /** Called after every successful (re)list. */
  onList?: () => void;
  maxBackoffMs?: number;
}

/** Any object with metadata: the cache holds the API's JSON as is (timestamps stay strings). */
export interface Meta {
  metadata: { name: string; namespace: string };
}

export class Informer<T extends Meta> {
  private readonly opts: InformerOptions<T>;
  private readonly lw: ListWatch<KubernetesObject>;
  private stopped = false;
  private failures = 0;
  private timer: NodeJS.Timeout | undefined;
  private listedOnce = false;

  constructor(opts: InformerOptions<T>) {
    this.opts = opts;
    const query: Record<string, string> = opts.labelSelector ? { labelSelector: opts.labelSelector } : {};
    const listFn = async () => {
      const list = await opts.client.list<T>(opts.path, query);
      this.listedOnce = true;
      this.failures = 0;
      opts.log.debug(
        { path: opts.path, items: list.items.length, resourceVersion: list.metadata.resourceVersion },
        'listed',
      );
      queueMicrotask(() => opts.onList?.());
      return list as never;
    };
    this.lw = new ListWatch<KubernetesObject>(
      opts.path,
      new Watch(opts.kc),
      listFn,
      false,
      opts.labelSelector,
    );
    this.lw.on('add', (o) => opts.onEvent('add', o as unknown as T));
    this.lw.on('update', (o) => opts.onEvent('update', o as unknown as T));
    this.lw.on('delete', (o) => opts.onEvent('delete', o as unknown as T));
    this.lw.on('error', (err) => this.restartLater(err));
  }

  /** True once the first list completed: the cache can be trusted. */
  get synced(): boolean {
    return this.listedOnce;
  }

  async start(): Promise<void> {
    this.stopped = false;
    await this.lw.start();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    void this.lw.stop();
  }

  get(namespace: string, name: string): T | undefined {
    return this.lw.get(name, namespace) as unknown as T | undefined;
  }

  list(namespace?: string): T[] {
    return [...this.lw.list(namespace)] as unknown as T[];
  }

  private restartLater(err: unknown): void {
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
      if (!this.stopped) void this.lw.start();
    }, delay);
    this.timer.unref();
  }
}
