/**
 * A small JSON client of the Kubernetes REST API (auth and TLS from access.ts). Objects travel as
 * plain JSON: typed models (client-node's) re-serialize through their schemas, which drops fields
 * they do not know (custom resources, CRD schemas), and cost memory the operator does not need.
 */

import { type ClientRequest, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent, type RequestOptions, request } from 'node:https';
import type { ApiAccess } from './access.js';

export class KubeApiError extends Error {
  readonly code: number;
  readonly reason: string;
  constructor(code: number, reason: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KubeApiError';
    this.code = code;
    this.reason = reason;
  }
}

export const isNotFound = (err: unknown) => err instanceof KubeApiError && err.code === 404;
export const isConflict = (err: unknown) => err instanceof KubeApiError && err.code === 409;
export const isAlreadyExists = (err: unknown) =>
  err instanceof KubeApiError && err.code === 409 && err.reason === 'AlreadyExists';

export interface ListResult<T> {
  metadata: { resourceVersion?: string; continue?: string };
  items: T[];
}

export const MERGE_PATCH = 'application/merge-patch+json';
export const JSON_PATCH = 'application/json-patch+json';

/** One event of a watch stream (BOOKMARK objects carry only metadata.resourceVersion). */
export interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

/** An open watch: `done` settles when the stream ends (server timeout: resolves) or fails. */
export interface OpenWatch {
  done: Promise<void>;
  abort(): void;
}

/** Concurrent connections to the API server (workers, event writes, the two watches). */
const MAX_SOCKETS = 64;

export class KubeClient {
  readonly access: ApiAccess;
  private readonly server: string;
  private readonly timeoutMs: number;
  private agent: Agent | undefined;

  constructor(access: ApiAccess, timeoutMs = 30_000) {
    this.access = access;
    this.server = access.server;
    this.timeoutMs = timeoutMs;
  }

  get<T>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }
  create<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('POST', path, body);
  }
  replace<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('PUT', path, body);
  }
  patch<T>(path: string, body: unknown, contentType = MERGE_PATCH): Promise<T> {
    return this.request<T>('PATCH', path, body, contentType);
  }
  delete(path: string): Promise<unknown> {
    return this.request('DELETE', path);
  }

  /** Lists every page of a collection. */
  async list<T>(path: string, query: Record<string, string> = {}): Promise<ListResult<T>> {
    const items: T[] = [];
    let cont: string | undefined;
    let resourceVersion: string | undefined;
    do {
      const q = new URLSearchParams({ ...query, limit: '500', ...(cont ? { continue: cont } : {}) });
      const page = await this.get<ListResult<T>>(`${path}?${q}`);
      items.push(...(page.items ?? []));
      cont = page.metadata?.continue || undefined;
      resourceVersion = page.metadata?.resourceVersion;
    } while (cont);
    return { metadata: { resourceVersion }, items };
  }

  /** Options and sender of one request; per request so a rotated token file is picked up. */
  private async prepare(method: string, path: string, timeoutMs: number) {
    const opts: RequestOptions = { method, headers: { accept: 'application/json' }, timeout: timeoutMs };
    await this.access.apply(opts);
    const url = new URL(this.server + path);
    if (url.protocol === 'https:') opts.agent = this.keepAlive(opts);
    else delete opts.agent;
    const send: (u: URL, o: RequestOptions, cb: (res: IncomingMessage) => void) => ClientRequest =
      url.protocol === 'https:' ? request : httpRequest;
    return { opts, url, send };
  }

  async request<T>(
    method: string,
    path: string,
    body?: unknown,
    contentType = 'application/json',
  ): Promise<T> {
    const { opts, url, send } = await this.prepare(method, path, this.timeoutMs);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers = opts.headers as Record<string, string>;
    if (payload !== undefined) headers['content-type'] = contentType;
    return new Promise<T>((resolve, reject) => {
      const req = send(url, opts, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          const parsed = parse(text) as (T & { message?: string; reason?: string }) | undefined;
          if (status >= 200 && status < 300) return resolve(parsed as T);
          const msg = parsed?.message ?? text.slice(0, 300);
          reject(new KubeApiError(status, parsed?.reason ?? '', `${method} ${path}: ${status} ${msg}`));
        });
      });
      req.on('timeout', () => req.destroy(new Error(`timed out after ${this.timeoutMs} ms`)));
      req.on('error', (err) =>
        reject(new KubeApiError(0, 'Unreachable', `${method} ${path}: ${err.message}`, { cause: err })),
      );
      req.end(payload);
    });
  }

  /**
   * Watches a collection from `resourceVersion`, calling `onEvent` for each line of the stream.
   * The server ends the stream after `timeoutSeconds`; a stream silent for longer than that
   * (plus a minute) is taken for a dead connection and fails.
   */
  async watch<T>(
    path: string,
    query: Record<string, string>,
    timeoutSeconds: number,
    onEvent: (e: WatchEvent<T>) => void,
  ): Promise<OpenWatch> {
    const q = new URLSearchParams({
      ...query,
      watch: '1',
      allowWatchBookmarks: 'true',
      timeoutSeconds: String(timeoutSeconds),
    });
    const full = `${path}?${q}`;
    const { opts, url, send } = await this.prepare('GET', full, (timeoutSeconds + 60) * 1000);
    let req: ClientRequest | undefined;
    const done = new Promise<void>((resolve, reject) => {
      req = send(url, opts, (res) => {
        const status = res.statusCode ?? 0;
        if (status < 200 || status >= 300) {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const parsed = parse(text) as { message?: string; reason?: string } | undefined;
            reject(
              new KubeApiError(
                status,
                parsed?.reason ?? '',
                `WATCH ${path}: ${status} ${parsed?.message ?? text.slice(0, 300)}`,
              ),
            );
          });
          return;
        }
        res.setEncoding('utf8');
        let rest = '';
        res.on('data', (chunk: string) => {
          const lines = (rest + chunk).split('\n');
          rest = lines.pop() ?? '';
          for (const line of lines) {
            const e = line ? (parse(line) as WatchEvent<T> | undefined) : undefined;
            if (e) onEvent(e);
          }
        });
        res.on('error', reject);
        res.on('end', () => resolve());
        // A stream cut mid-way (API server gone) never ends: it only closes.
        res.on('close', () =>
          res.complete ? resolve() : reject(new Error(`WATCH ${path}: connection closed`)),
        );
      });
      req.on('timeout', () => req?.destroy(new Error(`WATCH ${path}: silent for ${timeoutSeconds + 60} s`)));
      req.on('error', (err) =>
        reject(new KubeApiError(0, 'Unreachable', `WATCH ${path}: ${err.message}`, { cause: err })),
      );
      req.end();
    });
    return { done, abort: () => req?.destroy(new Error('watch stopped')) };
  }

  /** One keep-alive agent for all requests, with the TLS material of the kubeconfig. */
  private keepAlive(opts: RequestOptions): Agent {
    this.agent ??= new Agent({
      keepAlive: true,
      maxSockets: MAX_SOCKETS,
      ca: opts.ca,
      cert: opts.cert,
      key: opts.key,
      ...(opts.rejectUnauthorized !== undefined ? { rejectUnauthorized: opts.rejectUnauthorized } : {}),
      ...(opts.servername ? { servername: opts.servername } : {}),
    });
    return this.agent;
  }

  close(): void {
    this.agent?.destroy();
  }
}

function parse(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * One path segment of a REST path: percent-encoded, and never "." or "..", which the URL parser
 * would resolve (a name taken from a spec must not walk into another namespace or resource).
 */
function seg(s: string): string {
  if (s === '' || s === '.' || s === '..')
    throw new Error(`invalid name in an API path: ${JSON.stringify(s)}`);
  return encodeURIComponent(s);
}

/** REST paths of the resources the operator touches ("" namespace = all namespaces). */
export const paths = {
  chartmuseums: (ns = '', name?: string) =>
    `/apis/cm.bitnami.com/v1alpha1${ns ? `/namespaces/${seg(ns)}` : ''}/chartmuseums${name ? `/${seg(name)}` : ''}`,
  cronJobs: (ns = '', name?: string) =>
    `/apis/batch/v1${ns ? `/namespaces/${seg(ns)}` : ''}/cronjobs${name ? `/${seg(name)}` : ''}`,
  secret: (ns: string, name: string) => `/api/v1/namespaces/${seg(ns)}/secrets/${seg(name)}`,
  secrets: (ns: string) => `/api/v1/namespaces/${seg(ns)}/secrets`,
  events: (ns: string) => `/api/v1/namespaces/${seg(ns)}/events`,
  lease: (ns: string, name?: string) =>
    `/apis/coordination.k8s.io/v1/namespaces/${seg(ns)}/leases${name ? `/${seg(name)}` : ''}`,
};
