/** Building the status subresource and the minimal merge patch that writes it. Pure. */
import { createHash } from 'node:crypto';
import { type Observation, READY, setCondition } from './conditions.js';
import type { SyncOutcome } from './outcome.js';
import type { Chartmuseum, ChartmuseumStatus } from './resource.js';
import { stableJson } from './stable-json.js';

export function repoUrl(base: string, repoName: string): string {
  return `${base.replace(/\/+$/, '')}/${repoName}/index.yaml`;
}

/**
 * The next status: the Ready observation, and the sync facts when the outcome carries them
 * (a failure keeps the last good commit and charts: they are still what is served).
 */
export function nextStatus(
  cm: Chartmuseum,
  outcome: SyncOutcome,
  extra: { repoName?: string | undefined; url?: string | undefined },
  now: Date,
): ChartmuseumStatus {
  const prev = cm.status ?? {};
  const next: ChartmuseumStatus = {
    ...prev,
    observedGeneration: cm.metadata.generation,
    conditions: setCondition(prev.conditions, READY, outcome.obs, cm.metadata.generation, now),
  };
  if ('repoName' in extra) next.repoName = extra.repoName;
  if ('url' in extra) next.url = extra.url;
  if (outcome.commit) next.lastSyncedCommit = outcome.commit;
  if (outcome.at) next.lastSyncTime = outcome.at;
  if (outcome.charts) {
    next.charts = outcome.charts;
    next.chartCount = outcome.charts.length;
  }
  return next;
}

export function conflictObservation(repoName: string, ownerKey: string): Observation {
  return {
    status: 'False',
    reason: 'RepoNameConflict',
    message: `repoName "${repoName}" is already used by Chartmuseum ${ownerKey}; set a different spec.repoName`,
  };
}

/**
 * Where a status held in the operator's cache keeps a digest of `charts` instead of the list (a
 * repository of many charts would otherwise be held twice per resource). A symbol: never part of
 * what is written or compared as a field.
 */
export const CHARTS_DIGEST: unique symbol = Symbol('chartsDigest');
type CachedStatus = ChartmuseumStatus & { [CHARTS_DIGEST]?: string };

export function chartsDigest(charts: unknown): string {
  return createHash('sha256').update(stableJson(charts)).digest('base64');
}

/** The status as the cache keeps it: the chart list replaced by its digest. */
export function statusForCache(status: ChartmuseumStatus): ChartmuseumStatus {
  const { charts, ...rest } = status;
  return charts === undefined ? rest : ({ ...rest, [CHARTS_DIGEST]: chartsDigest(charts) } as CachedStatus);
}

/** A JSON merge patch turning `prev` into `next` (null removes a key), or undefined if equal. */
export function statusPatch(
  prev: ChartmuseumStatus | undefined,
  next: ChartmuseumStatus,
): { status: Record<string, unknown> } | undefined {
  const p = (prev ?? {}) as Record<string, unknown>;
  const n = next as Record<string, unknown>;
  const patch: Record<string, unknown> = {};
  for (const k of new Set([...Object.keys(p), ...Object.keys(n)])) {
    if (k === 'charts') continue;
    if (n[k] === undefined) {
      if (p[k] !== undefined) patch[k] = null;
    } else if (stableJson(n[k]) !== stableJson(p[k])) {
      patch[k] = n[k];
    }
  }
  // The charts, as a list or as the digest a cached status holds instead.
  const charts = (s: ChartmuseumStatus | undefined) =>
    s?.charts !== undefined ? chartsDigest(s.charts) : (s as CachedStatus | undefined)?.[CHARTS_DIGEST];
  const [before, after] = [charts(prev), charts(next)];
  if (before !== after) patch.charts = next.charts ?? null;
  return Object.keys(patch).length ? { status: patch } : undefined;
}
