/**
 * Wire types of the sidecar HTTP API: the single definition used by the server and by the
 * typed client (`@chartsync/api`) that the operator imports. The routes and fields: docs/sidecar.md.
 */

import type { Reason } from './reasons.js';

export type ChartAction = 'published' | 'unchanged' | 'pruned' | 'conflict' | 'failed';

export interface ChartSyncResult {
  name: string;
  version: string;
  digest: string;
  action: ChartAction;
  error?: string;
  /** Always set with `error` (`failed` and `conflict`): the machine reason, see reasons.ts. */
  reason?: Reason;
}

export interface SyncResult {
  name: string;
  commit: string;
  changed: boolean;
  durationMs: number;
  charts: ChartSyncResult[];
}

/** Body of `POST /repo/dependency`. `addr` is accepted as an alias of `url`. */
export interface DependencyRequest {
  name: string;
  url: string;
  username?: string;
  password?: string;
  mirrorOf?: string;
  /** `oci://` only: PEM CA certificates trusted for this repository's registry host only. */
  caData?: string;
  /** `oci://` only: speak plain HTTP to its registry host. */
  insecurePlainHttp?: boolean;
  /** Scoped to this one git repo (only its syncs see it); absent: shared by every repo. */
  repo?: string;
}

/** What `GET /repo/dependency` lists: never the secrets. */
export interface DependencyView {
  name: string;
  /** The git repo it is scoped to; absent: shared. */
  repo?: string;
  url: string;
  mirrorOf?: string;
  hasCredentials: boolean;
  /** A CA was declared for it (`caData`). */
  hasCaData?: boolean;
  insecurePlainHttp?: boolean;
}

/** Body of `POST /repo/new`. */
export interface RepoRequest {
  name: string;
  git: string;
  ref?: string;
  paths?: string[];
  username?: string;
  password?: string;
  sshKey?: string;
  knownHosts?: string;
  prune?: boolean;
  /** Standalone config only: cron expression or a period in minutes. */
  schedule?: string;
  everyMinutes?: number;
}

/** What `GET /repo` and `GET /repo/:name` answer: never the secrets. */
export interface RepoView {
  name: string;
  git: string;
  ref?: string;
  paths?: string[];
  prune: boolean;
  hasCredentials: boolean;
  lastSync?: SyncResult & { at: string; error?: ErrorBody };
  syncing: boolean;
}

export type ErrorCode =
  | 'invalid_input'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'payload_too_large'
  | 'upstream_failed'
  | 'shutting_down'
  | 'internal';

export interface ErrorBody {
  error: ErrorCode;
  message: string;
  /** The machine reason (see reasons.ts and docs/reasons.md); every error body carries one. */
  reason: Reason;
}
