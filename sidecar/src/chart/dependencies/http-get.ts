/**
 * Bounded HTTP GET for chart repositories: a deadline over the whole exchange (a repository
 * that stalls or never finishes its body fails instead of hanging a sync), a size cap, http(s)
 * only, redirects followed by hand so that none leaves http(s) or downgrades https to http,
 * and basic-auth credentials
 * sent only to the origin they were registered for.
 */

import { redactUrl, splitUrlCredentials } from '../../url/credentials.js';

export interface BasicAuth {
  username: string;
  password: string;
}

export interface GetOptions {
  timeoutMs: number;
  maxBytes: number;
  auth?: BasicAuth;
  /** Origin (scheme://host:port) the credentials belong to. */
  authOrigin?: string;
}

const MAX_REDIRECTS = 10;

export class HttpGetError extends Error {
  override name = 'HttpGetError';
  readonly status: number | undefined;
  constructor(message: string, status?: number) {
    super(message);
    this.status = status;
  }
}

/** The URL without userinfo, query or fragment: what may appear in errors and logs. */
export { redactUrl };

function assertHttp(url: URL, context: string): void {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new HttpGetError(`${context}: only http and https URLs are allowed, got ${url.protocol}`);
  }
}

function headersFor(url: URL, opts: GetOptions): Record<string, string> {
  const headers: Record<string, string> = { 'user-agent': 'chartsync', accept: '*/*' };
  if (opts.auth && url.origin === opts.authOrigin) {
    const token = Buffer.from(`${opts.auth.username}:${opts.auth.password}`).toString('base64');
    headers.authorization = `Basic ${token}`;
  }
  return headers;
}

async function readBounded(res: Response, maxBytes: number, shown: string): Promise<Buffer> {
  const declared = Number(res.headers.get('content-length') ?? Number.NaN);
  if (declared > maxBytes)
    throw new HttpGetError(`${shown}: response of ${declared} bytes exceeds the ${maxBytes}-byte limit`);
  const chunks: Buffer[] = [];
  let total = 0;
  if (!res.body) return Buffer.alloc(0);
  for await (const chunk of res.body) {
    total += chunk.byteLength;
    if (total > maxBytes) throw new HttpGetError(`${shown}: response exceeds the ${maxBytes}-byte limit`);
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks, total);
}

/** Only http(s), and never from https down to http; an upgrade to https is fine. */
export function redirectAllowed(from: URL, to: URL): boolean {
  return from.protocol === to.protocol || (from.protocol === 'http:' && to.protocol === 'https:');
}

/** Credentials written into the URL (`https://user:pass@host/…`) become basic auth, as in Go. */
function withUserinfoAuth(url: URL, opts: GetOptions): GetOptions {
  if (!url.username && !url.password) return opts;
  let split: ReturnType<typeof splitUrlCredentials>;
  try {
    split = splitUrlCredentials(url.href);
  } catch (err) {
    throw new HttpGetError(`${redactUrl(url.href)}: ${(err as Error).message}`);
  }
  const auth = { username: split.username ?? '', password: split.password ?? '' };
  url.username = '';
  url.password = '';
  return opts.auth ? opts : { ...opts, auth, authOrigin: url.origin };
}

/** GETs `url` and returns the body; throws HttpGetError naming the (redacted) URL. */
export async function httpGet(url: string, options: GetOptions): Promise<Buffer> {
  const signal = AbortSignal.timeout(options.timeoutMs);
  let current = new URL(url);
  assertHttp(current, redactUrl(url));
  const opts = withUserinfoAuth(current, options);
  try {
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      const shown = redactUrl(current.href);
      const res = await fetch(current, { headers: headersFor(current, opts), redirect: 'manual', signal });
      const location = res.headers.get('location');
      if (res.status >= 300 && res.status < 400 && location) {
        await res.body?.cancel();
        const next = new URL(location, current);
        if (!redirectAllowed(current, next)) {
          throw new HttpGetError(`${shown}: redirect to another protocol (${next.protocol}) refused`);
        }
        current = next;
        continue;
      }
      if (!res.ok) {
        await res.body?.cancel();
        throw new HttpGetError(`${shown}: HTTP ${res.status} ${res.statusText}`.trim(), res.status);
      }
      return await readBounded(res, opts.maxBytes, shown);
    }
    throw new HttpGetError(`${redactUrl(url)}: more than ${MAX_REDIRECTS} redirects`);
  } catch (err) {
    if (err instanceof HttpGetError) throw err;
    if (signal.aborted) {
      throw new HttpGetError(
        `${redactUrl(current.href)}: no complete answer within ${opts.timeoutMs} ms (timed out)`,
      );
    }
    const cause = (err as Error & { cause?: Error }).cause?.message ?? (err as Error).message;
    throw new HttpGetError(`${redactUrl(current.href)}: request failed: ${cause}`);
  }
}
