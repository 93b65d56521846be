/**
 * A work queue of object keys: a key waits in the queue at most once, is never processed by
 * two workers at the same time (an add while it runs re-queues it once afterwards), and failed
 * keys come back with per-key exponential backoff.
 */
export interface QueueOptions {
  workers: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** Handler outcome: optionally ask to be called again later. */
  handler: (key: string) => Promise<{ requeueAfterMs?: number } | undefined>;
  onError?: (key: string, err: unknown, retryInMs: number) => void;
  onDepth?: (depth: number) => void;
}

export class WorkQueue {
  private readonly opts: QueueOptions;
  private readonly pending: string[] = [];
  private readonly queued = new Set<string>();
  private readonly running = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private active = 0;
  private closed = false;
  private idleWaiters: Array<() => void> = [];

  constructor(opts: QueueOptions) {
    this.opts = opts;
  }

  add(key: string): void {
    if (this.closed) return;
    if (this.running.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.pending.push(key);
    this.opts.onDepth?.(this.pending.length);
    this.pump();
  }

  /** Adds `key` after `ms`; an earlier pending add wins. */
  addAfter(key: string, ms: number): void {
    if (this.closed) return;
    if (ms <= 0) {
      this.add(key);
      return;
    }
    const at = Date.now() + ms;
    const existing = this.timers.get(key);
    if (existing && existing.at <= at) return;
    if (existing) clearTimeout(existing.timer);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, ms);
    timer.unref();
    this.timers.set(key, { at, timer });
  }

  /** The delay the next failure of `key` waits: base * 2^(failures-1), capped. */
  backoffFor(key: string): number {
    const n = this.failures.get(key) ?? 0;
    return Math.min(this.opts.backoffMaxMs, this.opts.backoffBaseMs * 2 ** Math.min(n, 30));
  }

  get depth(): number {
    return this.pending.length;
  }

  /** Stops taking work; resolves when the handlers in flight are done. */
  async shutdown(): Promise<void> {
    this.closed = true;
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.pending.length = 0;
    this.queued.clear();
    if (this.active === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  private pump(): void {
    while (!this.closed && this.active < this.opts.workers && this.pending.length > 0) {
      const key = this.pending.shift() as string;
      this.queued.delete(key);
      this.running.add(key);
      this.active++;
      this.opts.onDepth?.(this.pending.length);
      void this.run(key);
    }
  }

  private async run(key: string): Promise<void> {
    try {
      const res = await this.opts.handler(key);
      this.failures.delete(key);
      if (res?.requeueAfterMs !== undefined) this.addAfter(key, res.requeueAfterMs);
    } catch (err) {
      const delay = this.backoffFor(key);
      this.failures.set(key, (this.failures.get(key) ?? 0) + 1);
      this.opts.onError?.(key, err, delay);
      this.addAfter(key, delay);
    } finally {
      this.running.delete(key);
      this.active--;
      if (this.dirty.delete(key)) this.add(key);
      if (this.active === 0 && this.closed) for (const w of this.idleWaiters.splice(0)) w();
      this.pump();
    }
  }
}
