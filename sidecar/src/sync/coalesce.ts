/**
 * Coalesces concurrent requests for the same work: while a run is in flight, every new request
 * joins one queued follow-up run, which starts when the current one ends. Each caller thus gets
 * the result of a run that started after its request (a consistent answer), and a burst of
 * requests costs at most two runs.
 */
export class Coalescer<T> {
  private running: Promise<T> | undefined;
  private queued: Promise<T> | undefined;

  run(task: () => Promise<T>): Promise<T> {
    if (!this.running) return this.start(task);
    if (!this.queued) {
      const next = this.running
        .catch(() => undefined)
        .then(() => {
          this.queued = undefined;
          return this.start(task);
        });
      this.queued = next;
    }
    return this.queued;
  }

  get busy(): boolean {
    return this.running !== undefined || this.queued !== undefined;
  }

  /** Resolves when no run is in flight or queued. */
  async idle(): Promise<void> {
    while (this.running || this.queued) await (this.queued ?? this.running)?.catch(() => undefined);
  }

  private start(task: () => Promise<T>): Promise<T> {
    const p: Promise<T> = task().finally(() => {
      if (this.running === p) this.running = undefined;
    });
    this.running = p;
    return p;
  }
}

/** A FIFO mutex: operations on one repo (sync, re-register, delete) never overlap. */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();
  private pending = 0;

  run<T>(task: () => Promise<T>): Promise<T> {
    this.pending++;
    const result = this.tail
      .catch(() => undefined)
      .then(task)
      .finally(() => {
        this.pending--;
      });
    this.tail = result;
    return result;
  }

  /** No operation running or waiting. */
  get idle(): boolean {
    return this.pending === 0;
  }
}
