/**
 * What a sidecar answer means for the resource's status: the Ready observation (with one of the
 * documented reasons) and the published charts. Pure: no I/O.
 */
import {
  type ChartSyncResult,
  type ErrorBody,
  type RepoView,
  SidecarError,
  type Reason as SidecarReason,
  type SyncResult,
} from '@chartsync/api';
import { KubeApiError } from '../kube/client.js';
import type { Observation, Reason } from './conditions.js';
import type { ChartRef } from './resource.js';

export interface SyncOutcome {
  obs: Observation;
  commit?: string;
  charts?: ChartRef[];
  at?: string;
}

/** Charts the repository serves after the sync (pruned and failed ones are not served from it). */
function servedCharts(result: SyncResult): ChartRef[] {
  return result.charts
    .filter((c) => c.action === 'published' || c.action === 'unchanged' || c.action === 'conflict')
    .map((c) => ({ name: c.name, version: c.version }))
    .sort((a, b) => a.name.localeCompare(b.name) || a.version.localeCompare(b.version));
}

/**
 * Conflicting charts a message names: a repository re-publishing thousands of changed versions
 * would otherwise make a message over the condition's limit, and every status write would fail.
 */
const MAX_NAMED = 10;

function short(commit: string): string {
  return commit.slice(0, 12);
}

/**
 * The Ready reason for each machine reason of the sidecar: the "operator Ready" column of
 * docs/reasons.md. A failed call maps by this table only, never by its message.
 */
const READY_REASON: Record<SidecarReason, Reason> = {
  InvalidInput: 'InvalidSpec',
  PayloadTooLarge: 'InvalidSpec',
  PathEscapesCheckout: 'InvalidSpec',
  Unauthorized: 'SidecarUnavailable',
  Forbidden: 'SidecarUnavailable',
  NotFound: 'SidecarUnavailable',
  RepoBusy: 'Progressing',
  ShuttingDown: 'SidecarUnavailable',
  Internal: 'SidecarUnavailable',
  GitAuthFailed: 'GitAuthFailed',
  GitUnreachable: 'GitUnreachable',
  RefNotFound: 'RefNotFound',
  CheckoutTooLarge: 'CheckoutTooLarge',
  GitFailed: 'GitFailed',
  InvalidChart: 'PackageFailed',
  ChartTooLarge: 'PackageFailed',
  BuildTimeout: 'PackageFailed',
  NameCollision: 'PackageFailed',
  DependencyUnresolved: 'PackageFailed',
  VersionConflict: 'PackageFailed',
  PublishFailed: 'PublishFailed',
  StorageFull: 'StorageFull',
};

/** A failed chart blames the target when publishing failed, else the chart itself. */
function chartFailureReason(failed: ChartSyncResult[]): Reason {
  const reasons = new Set(failed.map((c) => c.reason));
  if (reasons.has('StorageFull')) return 'StorageFull';
  if (reasons.has('PublishFailed')) return 'PublishFailed';
  return 'PackageFailed';
}

export function outcomeOfSync(result: SyncResult, at: string): SyncOutcome {
  const charts = servedCharts(result);
  const failed = result.charts.filter((c) => c.action === 'failed');
  const conflicts = result.charts.filter((c) => c.action === 'conflict');
  let obs: Observation;
  if (failed.length > 0) {
    const detail = failed
      .slice(0, 3)
      .map((c) => `${c.name}${c.version ? ` ${c.version}` : ''}: ${c.error ?? 'failed'}`);
    obs = {
      status: 'False',
      reason: chartFailureReason(failed),
      message: `${failed.length} chart(s) failed at ${short(result.commit)}: ${detail.join('; ')}`,
    };
  } else {
    const named = conflicts.slice(0, MAX_NAMED).map((c) => `${c.name} ${c.version}`);
    if (conflicts.length > MAX_NAMED) named.push(`and ${conflicts.length - MAX_NAMED} more`);
    const note = conflicts.length
      ? `; ${conflicts.length} chart version(s) already published with other content were kept: ${named.join(', ')}`
      : '';
    obs = {
      status: 'True',
      reason: 'Synced',
      message: `${charts.length} chart(s) published from ${short(result.commit)}${note}`,
    };
  }
  return { obs, commit: result.commit, charts, at };
}

/**
 * The reason for a failed call: the sidecar's by its machine reason; the API server refusing what
 * the operator derived from the spec (422: the CronJob or token Secret of a name too long, a
 * schedule it cannot parse) is InvalidSpec with the API server's message, which names the field.
 */
export function outcomeOfError(err: unknown): SyncOutcome {
  if (err instanceof SidecarError)
    return { obs: observationOf(err.status, err.code, err.reason, err.message) };
  if (err instanceof KubeApiError && err.code === 422)
    return { obs: { status: 'False', reason: 'InvalidSpec', message: err.message } };
  return {
    obs: { status: 'False', reason: 'SidecarUnavailable', message: (err as Error)?.message ?? String(err) },
  };
}

function observationOf(
  status: number,
  code: string,
  reason: SidecarReason | undefined,
  message: string,
): Observation {
  const mapped = readyReasonOf(status, code, reason);
  const text =
    reason === 'Unauthorized' || status === 401 ? 'the sidecar rejected the operator token' : message;
  return { status: mapped === 'Progressing' ? 'Unknown' : 'False', reason: mapped, message: text };
}

/** By the sidecar's reason; a sidecar too old to send one is judged by its status code alone. */
function readyReasonOf(status: number, code: string, reason: SidecarReason | undefined): Reason {
  if (status === 0) return 'SidecarUnavailable';
  if (reason) return READY_REASON[reason];
  if (status === 400 || status === 413 || code === 'invalid_input') return 'InvalidSpec';
  if (status === 502) return 'SyncFailed';
  return 'SidecarUnavailable';
}

/**
 * The outcome of the last sync the sidecar remembers (e.g. a scheduled CronJob run), or
 * undefined when it never synced.
 */
export function outcomeOfRepoView(view: RepoView): SyncOutcome | undefined {
  const last = view.lastSync;
  if (!last) return undefined;
  if (last.error) {
    const e = last.error as ErrorBody;
    const status = e.error === 'upstream_failed' ? 502 : e.error === 'invalid_input' ? 400 : 500;
    const out: SyncOutcome = { obs: observationOf(status, e.error, e.reason, e.message), at: last.at };
    // A failed fetch keeps what was published: keep reporting those charts.
    return last.commit ? { ...out, commit: last.commit, charts: servedCharts(last) } : out;
  }
  return outcomeOfSync(last, last.at);
}

export function isUnavailable(err: unknown): boolean {
  return err instanceof SidecarError && (err.status === 0 || err.status === 503);
}
