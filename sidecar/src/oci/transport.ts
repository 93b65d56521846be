/**
 * HTTP for registries: extra CA certificates scoped to the origin asked (a registry's own CA is
 * not trusted for another host, not even for a redirect target), a deadline over each exchange,
 * bodies read up to a size cap, and redirects followed by hand so that none downgrades https to
 * http and the Authorization header never follows a redirect to another origin (blob downloads
 * are often redirected to object storage). Which scheme a registry is spoken to with is the
 * caller's choice (client.ts).
 */

import { rootCertificates } from 'node:tls';
import { Agent, fetch } from 'undici';
import { redactUrl } from '../url/credentials.js';

export interface TransportOptions {
  /** Deadline of one request, from sending to the end of the body. */
  timeoutMs: number;
  /** PEM certificates trusted, beside the system roots, for every origin (the process-wide CA). */
  defaultCaCerts?: string | undefined;
  /** PEM certificates trusted, beside those, only for the origin of the request's URL. */
  caCerts?: string | undefined;
}

export interface OciRequest {
  method: 'GET' | 'HEAD' | 'PUT' | 'POST' | 'DELETE';
  url: string;
  headers?: Record<string, string>;
  body?: Buffer;
  /** The body is refused beyond this many bytes. */
  maxBytes: number;
}

export interface OciResponse {
  status: number;
  headers: Headers;
  body: Buffer;
  /** The URL that finally answered (after redirects). */
  url: string;
}

export class TransportError extends Error {
  override name = 'TransportError';
  /** `limit`: the answer was larger than allowed; `network`: no (complete) answer. */
  readonly kind: 'limit' | 'network';
  constructor(message: string, kind: 'limit' | 'network' = 'network') {
    super(message);
    this.kind = kind;
  }
}

const MAX_REDIRECTS = 10;
const agents = new Map<string, Agent>();

/** One connection pool per distinct trust set; none (undici's default) for the system roots alone. */
function agentFor(...bundles: (string | undefined)[]): Agent | undefined {
  const extra = bundles.filter((b): b is string => Boolean(b));
  if (!extra.length) return undefined;
  const key = extra.join('\u0000');
  let agent = agents.get(key);
  if (!agent) {
    agent = new Agent({ connect: { ca: [...rootCertificates, ...extra] } });
    agents.set(key, agent);
  }
  return agent;
}

async function readBounded(
  res: Response | import('undici').Response,
  maxBytes: number,
  shown: string,
): Promise<Buffer> {
  const declared = Number(res.headers.get('content-length') ?? Number.NaN);
  if (declared > maxBytes) {
    await res.body?.cancel();
    throw new TransportError(
      `${shown}: answer of ${declared} bytes exceeds the ${maxBytes}-byte limit`,
      'limit',
    );
  }
  if (!res.body) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
    total += chunk.byteLength;
    if (total > maxBytes)
      throw new TransportError(`${shown}: answer exceeds the ${maxBytes}-byte limit`, 'limit');
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks, total);
}

/**
 * What may be shown of a URL: no query (upload URLs carry state tokens), no userinfo — the one
 * redaction of url/credentials.ts.
 */
export const shownUrl: (url: string) => string = redactUrl;

/** One exchange, redirects included. The caller interprets the status. */
export async function send(req: OciRequest, opts: TransportOptions): Promise<OciResponse> {
  const signal = AbortSignal.timeout(opts.timeoutMs);
  let current = new URL(req.url);
  const origin = current.origin;
  const own = agentFor(opts.defaultCaCerts, opts.caCerts);
  const elsewhere = agentFor(opts.defaultCaCerts);
  try {
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      const shown = shownUrl(current.href);
      const headers = { 'user-agent': 'chartsync', ...(req.headers ?? {}) };
      const dispatcher = current.origin === origin ? own : elsewhere;
      if (current.origin !== origin) delete (headers as Record<string, string>).authorization;
      const res = await fetch(current, {
        method: req.method,
        headers,
        ...(req.body ? { body: req.body } : {}),
        redirect: 'manual',
        signal,
        ...(dispatcher ? { dispatcher } : {}),
      });
      const location = res.headers.get('location');
      if (
        res.status >= 300 &&
        res.status < 400 &&
        location &&
        req.method !== 'PUT' &&
        req.method !== 'POST'
      ) {
        await res.body?.cancel();
        const next = new URL(location, current);
        if (next.protocol !== 'https:' && !(next.protocol === 'http:' && current.protocol === 'http:')) {
          throw new TransportError(`${shown}: redirect to ${next.protocol} refused`);
        }
        current = next;
        continue;
      }
      const body = req.method === 'HEAD' ? Buffer.alloc(0) : await readBounded(res, req.maxBytes, shown);
      return { status: res.status, headers: res.headers as unknown as Headers, body, url: current.href };
    }
    throw new TransportError(`${shownUrl(req.url)}: more than ${MAX_REDIRECTS} redirects`);
  } catch (err) {
    if (err instanceof TransportError) throw err;
    if (signal.aborted) {
      throw new TransportError(
        `${shownUrl(current.href)}: no complete answer within ${opts.timeoutMs} ms (timed out)`,
      );
    }
    const e = err as Error & { cause?: Error & { code?: string } };
    const cause = e.cause?.code ?? e.cause?.message ?? e.message;
    throw new TransportError(`${shownUrl(current.href)}: request failed: ${cause}`);
  }
}
