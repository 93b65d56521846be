/**
 * Per-key FIFO for bookkeeping files: the writes of one repo's file never overlap (each starts
 * after the previous one settled, whatever its outcome); different keys run freely.
 */
export class KeyedQueue {
  private readonly tails = new Map<string, Promise<void>>();

  run(key: string, op: () => Promise<void>): Promise<void> {
    const next = (this.tails.get(key) ?? Promise.resolve()).catch(() => undefined).then(op);
    this.tails.set(key, next);
    return next;
  }
}
