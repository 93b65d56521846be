/**
 * The pure decisions of a sync, apart from all I/O: what a freshly built package means against
 * what is published, and which published versions a complete scan prunes.
 */
import type { ChartRef, PublishedVersion } from '../publish/publisher.js';
import { chartKey } from '../publish/publisher.js';

export type Placement = 'publish' | 'unchanged' | 'compare';

/** A new package against the published set: absent → publish; same digest → unchanged; else look closer. */
export function placePackage(
  pkg: { name: string; version: string; digest: string },
  published: Map<string, PublishedVersion>,
): Placement {
  const existing = published.get(chartKey(pkg));
  if (!existing) return 'publish';
  return existing.digest === pkg.digest ? 'unchanged' : 'compare';
}

/**
 * Published versions of charts that are no longer in the repository. Versions of charts that
 * still exist are kept (users pin them); `keepNames` also holds charts that failed to build
 * this time, since they were not removed from git.
 */
export function prunable(published: PublishedVersion[], keepNames: Set<string>): ChartRef[] {
  return published
    .filter((v) => !keepNames.has(v.name))
    .map(({ name, version }) => ({ name, version }))
    .sort((a, b) => chartKey(a).localeCompare(chartKey(b)));
}

export function byKey(published: PublishedVersion[]): Map<string, PublishedVersion> {
  return new Map(published.map((v) => [chartKey(v), v]));
}
