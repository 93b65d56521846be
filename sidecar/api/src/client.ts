/**
 * Typed client of the sidecar HTTP API, used by the operator (and tests). It speaks the wire
 * types of `./types.ts`, the one definition shared with the server.
 */

import { isReason, type Reason } from './reasons.js';
import type {
  DependencyRequest,
  DependencyView,
  ErrorBody,
  ErrorCode,
  RepoRequest,
  RepoView,
  SyncResult,
} from './types.js';

/** A non-2xx answer (status > 0) or no answer at all (status 0: connection refused, timeout). */
export class SidecarError extends Error {
  readonly status: number;
  readonly code: ErrorCode | 'unreachable';
  /** The machine reason of the answer (reasons.ts); undefined when there was no answer. */
  readonly reason: Reason | undefined;
  constructor(
    status: number,
    code: ErrorCode | 'unreachable',
    message: string,
    options?: { cause?: unknown; reason?: Reason | undefined },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SidecarError';
    this.status = status;
    this.code = code;
    this.reason = options?.reason;
  }
}

export interface SidecarClientOptions {
  /** Base URL, e.g. http://chartmuseum:3000 */
  baseUrl: string;
  token?: string;
  /** Per-request timeout; syncs of large repos can take long. Default 10 minutes. */
  timeoutMs?: number;
}

export class SidecarClient {
  private readonly baseUrl: string;
  private readonly token: string | undefined;
  private readonly timeoutMs: number;

  constructor(opts: SidecarClientOptions) {
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
    this.token = opts.token;
    this.timeoutMs = opts.timeoutMs ?? 10 * 60_000;
  }

  upsertDependency(dep: DependencyRequest): Promise<DependencyView> {
    return this.call('POST', '/repo/dependency', dep);
  }
  listDependencies(): Promise<DependencyView[]> {
    return this.call('GET', '/repo/dependency');
  }
  /** Removes the shared registration `name`, or with `repo` the one scoped to that repo. */
  deleteDependency(name: string, repo?: string): Promise<void> {
    const scope = repo === undefined ? '' : `?repo=${encodeURIComponent(repo)}`;
    return this.call('DELETE', `/repo/dependency/${encodeURIComponent(name)}${scope}`);
  }
  /** Registers (or updates) a git repository and syncs it; answers with the sync result. */
  upsertRepo(repo: RepoRequest): Promise<SyncResult> {
    return this.call('POST', '/repo/new', repo);
  }
  /**
   * Registers (or updates) a git repository and answers at once (202) with its view: the sync
   * runs on in the sidecar (`syncing: true`) and its result shows up in `getRepo(name).lastSync`.
   */
  registerRepo(repo: RepoRequest): Promise<RepoView> {
    return this.call('POST', '/repo/new?async=true', repo);
  }
  listRepos(): Promise<RepoView[]> {
    return this.call('GET', '/repo');
  }
  getRepo(name: string): Promise<RepoView> {
    return this.call('GET', `/repo/${encodeURIComponent(name)}`);
  }
  updateRepo(name: string): Promise<SyncResult> {
    return this.call('POST', `/repo/${encodeURIComponent(name)}/update`);
  }
  deleteRepo(name: string): Promise<void> {
    return this.call('DELETE', `/repo/${encodeURIComponent(name)}`);
  }
  async ready(): Promise<boolean> {
    try {
      await this.call('GET', '/readyz');
      return true;
    } catch {
      return false;
    }
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    let res: Response;
    try {
      res = await fetch(this.baseUrl + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      throw new SidecarError(0, 'unreachable', `sidecar ${method} ${path}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    const text = await res.text();
    const parsed = text ? safeJson(text) : undefined;
    if (!res.ok) {
      const e = parsed as Partial<ErrorBody> | undefined;
      throw new SidecarError(
        res.status,
        e?.error ?? 'internal',
        `sidecar ${method} ${path}: ${res.status} ${e?.message ?? text.slice(0, 200)}`,
        { reason: isReason(e?.reason) ? e.reason : undefined },
      );
    }
    return parsed as T;
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
