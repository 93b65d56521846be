/**
 * What a sidecar answer means for the resource's status: the Ready observation (with one of the
 * documented reasons) and the published charts. Pure: no I/O.
 */
import { type ErrorBody, type RepoView, SidecarError, type SyncResult } from '@chartsync/api';
import type { Observation } from './conditions.js';
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

function short(commit: string): string {
  return commit.slice(0, 12);
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
      reason: 'PackageFailed',
      message: `${failed.length} chart(s) failed at ${short(result.commit)}: ${detail.join('; ')}`,
    };
  } else {
    const note = conflicts.length
      ? `; ${conflicts.length} chart version(s) already published with other content were kept: ${conflicts.map((c) => `${c.name} ${c.version}`).join(', ')}`
      : '';
    obs = {
      status: 'True',
      reason: 'Synced',
      message: `${charts.length} chart(s) published from ${short(result.commit)}${note}`,
    };
  }
  return { obs, commit: result.commit, charts, at };
}

/** The reason for a failed sidecar call. */
export function outcomeOfError(err: unknown): SyncOutcome {
  if (err instanceof SidecarError)
    return { obs: { status: 'False', ...reasonOf(err.status, err.code, err.message) } };
  return {
    obs: { status: 'False', reason: 'SidecarUnavailable', message: (err as Error)?.message ?? String(err) },
  };
}

function reasonOf(status: number, code: string, message: string): Omit<Observation, 'status'> {
  if (status === 0 || status === 503 || status === 401 || (status >= 500 && status !== 502)) {
    const why = status === 401 ? 'the sidecar rejected the operator token' : message;
    return { reason: 'SidecarUnavailable', message: why };
  }
  if (status === 400 || code === 'invalid_input') return { reason: 'InvalidSpec', message };
  // 502: the sidecar reached out and failed: publishing (ChartMuseum) or git.
  if (/publish/i.test(message)) return { reason: 'PublishFailed', message };
  return { reason: 'GitFetchFailed', message };
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
    const out: SyncOutcome = {
      obs: { status: 'False', ...reasonOf(status, e.error, e.message) },
      at: last.at,
    };
    // A failed fetch keeps what was published: keep reporting those charts.
    return last.commit ? { ...out, commit: last.commit, charts: servedCharts(last) } : out;
  }
  return outcomeOfSync(last, last.at);
}

export function isUnavailable(err: unknown): boolean {
  return err instanceof SidecarError && (err.status === 0 || err.status === 503);
}
