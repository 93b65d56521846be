/**
 * Retries with exponential backoff and jitter, for calls to a remote that may be briefly down
 * (network errors, 5xx). The abort signal cuts a wait short, e.g. on shutdown.
 */
import { setTimeout as sleep } from 'node:timers/promises';

export interface RetryPolicy {
  retries: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { retries: 4, baseDelayMs: 200, maxDelayMs: 3000 };
export const NO_RETRY: RetryPolicy = { retries: 0, baseDelayMs: 0, maxDelayMs: 0 };

export async function withRetry<T>(
  fn: (attempt: number) => Promise<T>,
  isRetryable: (err: unknown) => boolean,
  policy: RetryPolicy,
  signal?: AbortSignal,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (attempt >= policy.retries || !isRetryable(err) || signal?.aborted) throw err;
      const delay = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
      await sleep(delay / 2 + Math.random() * (delay / 2), undefined, signal ? { signal } : undefined);
    }
  }
}
