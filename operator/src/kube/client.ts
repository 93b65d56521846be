/**
 * A small JSON client of the Kubernetes REST API on top of client-node's KubeConfig (auth,
 * TLS, in-cluster config). Objects travel as plain JSON: client-node's typed models re-serialize
 * through their schemas, which drops fields they do not know (custom resources, CRD schemas).
 */

import { request as httpRequest } from 'node:http';
import { Agent, type RequestOptions, request } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';

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

export class KubeClient {
  readonly kc: KubeConfig;
  private readonly server: string;
  private readonly timeoutMs: number;
  private agent: Agent | undefined;

  constructor(kc: KubeConfig, timeoutMs = 30_000) {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    this.kc = kc;
    this.server = cluster.server.replace(/\/+$/, '');
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

  async request<T>(
    method: string,
    path: string,
    body?: unknown,
    contentType = 'application/json',
  ): Promise<T> {
    const opts: RequestOptions = { method, headers: { accept: 'application/json' }, timeout: this.timeoutMs };
    // Per request: a rotated ServiceAccount token file is picked up.
    await this.kc.applyToHTTPSOptions(opts);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers = opts.headers as Record<string, string>;
    if (payload !== undefined) headers['content-type'] = contentType;
    const url = new URL(this.server + path);
    if (url.protocol === 'https:') opts.agent = this.keepAlive(opts);
    else delete opts.agent;
    const send = url.protocol === 'https:' ? request : httpRequest;
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

  /** One keep-alive agent for all requests, with the TLS material of the kubeconfig. */
  private keepAlive(opts: RequestOptions): Agent {
    this.agent ??= new Agent({
      keepAlive: true,
      maxSockets: 16,
      ca: opts.ca,
      cert: opts.cert,
      key: opts.key,
      ...(opts.rejectUnauthorized !== undefined ? { rejectUnauthorized: opts.rejectUnauthorized } : {}),
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

/** REST paths of the resources the operator touches ("" namespace = all namespaces). */
export const paths = {
  chartmuseums: (ns = '', name?: string) =>
    `/apis/cm.bitnami.com/v1alpha1${ns ? `/namespaces/${ns}` : ''}/chartmuseums${name ? `/${name}` : ''}`,
  cronJobs: (ns = '', name?: string) =>
    `/apis/batch/v1${ns ? `/namespaces/${ns}` : ''}/cronjobs${name ? `/${name}` : ''}`,
  secret: (ns: string, name: string) => `/api/v1/namespaces/${ns}/secrets/${name}`,
  secrets: (ns: string) => `/api/v1/namespaces/${ns}/secrets`,
  events: (ns: string) => `/api/v1/namespaces/${ns}/events`,
  lease: (ns: string, name?: string) =>
    `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases${name ? `/${name}` : ''}`,
};
