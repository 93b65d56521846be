/**
 * Publishes through ChartMuseum's HTTP API (multi-tenant, `--depth=1`): upload with
 * `POST /api/<repo>/charts`, delete with `DELETE /api/<repo>/charts/<name>/<version>`, list with
 * `GET /api/<repo>/charts`. Works with every storage backend ChartMuseum supports, because
 * ChartMuseum does the storing. Network errors and 5xx answers are retried with backoff.
 */

import { readFile } from 'node:fs/promises';
import type { StagedChart } from '../chart/model.js';
import { splitUrlCredentials } from '../url/credentials.js';
import {
  archiveName,
  type BatchOutcome,
  type ChartRef,
  chartKey,
  PublishError,
  type PublishedVersion,
  type Publisher,
} from './publisher.js';
import { DEFAULT_RETRY, NO_RETRY, type RetryPolicy, withRetry } from './retry.js';

export interface ChartMuseumOptions {
  url: string;
  username?: string;
  password?: string;
  token?: string;
  retry?: RetryPolicy;
  timeoutMs?: number;
}

/** An HTTP answer that is not retryable (4xx) or that stayed 5xx after the retries. */
class HttpStatusError extends PublishError {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

export class ChartMuseumPublisher implements Publisher {
  readonly kind = 'chartmuseum';
  readonly target: string;
  private readonly base: string;
  private readonly authHeader: string | undefined;
  private readonly retry: RetryPolicy;
  private readonly timeoutMs: number;

  constructor(opts: ChartMuseumOptions) {
    // Credentials in the URL are moved into the header so they never show in messages
    // (split by url/credentials.ts, the one home of that rule).
    const split = splitUrlCredentials(opts.url);
    const url = new URL(split.url);
    const username = opts.username ?? split.username;
    const password = opts.password ?? split.password;
    this.base = url.toString().replace(/\/+$/, '');
    this.target = `chartmuseum ${this.base}`;
    if (opts.token) this.authHeader = `Bearer ${opts.token}`;
    else if (username !== undefined)
      this.authHeader = `Basic ${Buffer.from(`${username}:${password ?? ''}`).toString('base64')}`;
    this.retry = opts.retry ?? DEFAULT_RETRY;
    this.timeoutMs = opts.timeoutMs ?? 30_000;
  }

  async list(repo: string): Promise<PublishedVersion[]> {
    const path = `/api/${repo}/charts`;
    const res = await this.request('GET', path);
    return chartList(await res.text(), `${this.target}: GET ${path}`);
  }

  async fetch(repo: string, ref: ChartRef): Promise<Buffer | undefined> {
    const res = await this.request(
      'GET',
      `/${repo}/charts/${encodeURIComponent(archiveName(ref))}`,
      undefined,
      [404],
    );
    if (res.status === 404) return undefined;
    return Buffer.from(await res.arrayBuffer());
  }

  async apply(repo: string, add: StagedChart[], remove: ChartRef[]): Promise<BatchOutcome> {
    const failed = new Map<string, Error>();
    for (const chart of add) {
      try {
        // One archive in memory at a time, read when its upload starts.
        await this.request('POST', `/api/${repo}/charts`, await readFile(chart.path));
      } catch (err) {
        failed.set(chartKey(chart), err as Error);
      }
    }
    for (const ref of remove) {
      try {
        await this.request(
          'DELETE',
          `/api/${repo}/charts/${encodeURIComponent(ref.name)}/${encodeURIComponent(ref.version)}`,
          undefined,
          [404],
        );
      } catch (err) {
        failed.set(chartKey(ref), err as Error);
      }
    }
    return { failed };
  }

  /** Nothing beyond the charts: ChartMuseum drops a repo's index once its last chart is deleted. */
  async removeRepo(_repo: string): Promise<void> {}

  /** One quick attempt: readiness probes have short timeouts and retry on their own. */
  async check(): Promise<void> {
    await this.request('GET', '/health', undefined, [], { retry: NO_RETRY, timeoutMs: 2000 });
  }

  /** One call with retries; `accept` lists non-2xx statuses the caller handles itself. */
  private async request(
    method: string,
    path: string,
    body?: Buffer,
    accept: number[] = [],
    limits: { retry: RetryPolicy; timeoutMs: number } = { retry: this.retry, timeoutMs: this.timeoutMs },
  ): Promise<Response> {
    const what = `${this.target}: ${method} ${path}`;
    return withRetry(
      async () => {
        let res: Response;
        try {
          res = await fetch(this.base + path, {
            method,
            headers: {
              ...(this.authHeader ? { authorization: this.authHeader } : {}),
              ...(body ? { 'content-type': 'application/gzip' } : {}),
            },
            ...(body ? { body: new Uint8Array(body) } : {}),
            signal: AbortSignal.timeout(limits.timeoutMs),
          });
        } catch (err) {
          const cause = (err as { cause?: { code?: string; message?: string } }).cause;
          throw new PublishError(`${what}: ${cause?.code ?? cause?.message ?? (err as Error).message}`, {
            cause: err,
          });
        }
        if (res.ok || accept.includes(res.status)) return res;
        const text = (await res.text()).slice(0, 300);
        throw new HttpStatusError(res.status, `${what}: ${res.status} ${describeBody(text)}`);
      },
      (err) => !(err instanceof HttpStatusError) || err.status >= 500,
      limits.retry,
    );
  }
}

/**
 * ChartMuseum's `{ "<chart>": [{ name, version, digest }, ...] }`. Anything else answered with
 * 200 (a proxy's login page, a URL that is not ChartMuseum's) fails the sync as a publishing
 * error naming the call, never as an internal error, and never as a list of nameless versions.
 */
function chartList(text: string, what: string): PublishedVersion[] {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new PublishError(`${what}: the answer is not JSON (is the URL ChartMuseum's?)`);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new PublishError(`${what}: the answer is not ChartMuseum's list of charts`);
  return Object.values(body).flatMap((versions) => {
    if (!Array.isArray(versions))
      throw new PublishError(`${what}: the answer is not ChartMuseum's list of charts`);
    return versions.map((v: { name?: unknown; version?: unknown; digest?: unknown }) => {
      if (typeof v?.name !== 'string' || typeof v.version !== 'string')
        throw new PublishError(`${what}: a chart version in the answer has no name or version`);
      return { name: v.name, version: v.version, digest: typeof v.digest === 'string' ? v.digest : '' };
    });
  });
}

function describeBody(text: string): string {
  try {
    const parsed = JSON.parse(text) as { error?: string };
    if (parsed.error) return parsed.error;
  } catch {
    // not JSON: show the raw text
  }
  return text.trim();
}
