/**
 * Whether the informer cache can stand in for a read of a resource from the API server. The
 * cache lags behind the operator's own writes (its watch event comes after the answer, or
 * before it): a resource the operator wrote is read from the API server until the cache holds
 * that write. Watch events come in resourceVersion order, so once the cache holds the write,
 * nothing it holds for that resource is older. Pure: no I/O.
 */
export class Freshness {
  /** key -> resourceVersion the cache must hold ('' while a write is in flight, or failed). */
  private readonly awaited = new Map<string, string>();

  /** A write of `key` was sent (`after` undefined) or answered with `after`. */
  wrote(key: string, after?: string): void {
    this.awaited.set(key, after ?? '');
  }

  /** A read from the API server returned version `rv`: the cache is current once it has that. */
  read(key: string, rv: string): void {
    this.awaited.set(key, rv);
  }

  /** The resource is gone: nothing to wait for. */
  forget(key: string): void {
    this.awaited.delete(key);
  }

  /** True when the cached version `cachedRv` of `key` is at least what the operator last saw. */
  current(key: string, cachedRv: string | undefined): boolean {
    const want = this.awaited.get(key);
    if (want === undefined) return true;
    if (want === '' || want !== cachedRv) return false;
    this.awaited.delete(key);
    return true;
  }
}
