/**
 * The pure decisions of a sync, apart from all I/O: what a freshly built package means against
 * what is published, and which published versions a complete scan prunes.
 */
import type { ChartRef, PublishedVersion } from '../publish/publisher.js';
import { archiveName, chartKey } from '../publish/publisher.js';

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
  // A file another kept version also maps to (a collision published before collisions were
  // refused) stays: removing it would delete that version's archive.
  const keptFiles = new Set(published.filter((v) => keepNames.has(v.name)).map(fileKey));
  return published
    .filter((v) => !keepNames.has(v.name) && !keptFiles.has(fileKey(v)))
    .map(({ name, version }) => ({ name, version }))
    .sort((a, b) => chartKey(a).localeCompare(chartKey(b)));
}

export function byKey(published: PublishedVersion[]): Map<string, PublishedVersion> {
  return new Map(published.map((v) => [chartKey(v), v]));
}

/**
 * What two chart versions collide on: their archive file name. `a` 1-1.0-x and `a-1` 1.0-x are
 * both `a-1-1.0-x.tgz`. Case is folded: storage on a case-insensitive file system (or behind
 * one) would hold one file for `App-1.0.0.tgz` and `app-1.0.0.tgz`.
 */
export function fileKey(ref: ChartRef): string {
  return archiveName(ref).toLowerCase();
}

/**
 * Tracks which chart version holds each archive file name during one sync: first the published
 * versions, then each chart as it is decided. A chart whose file is held by another version is
 * refused (NameCollision), so no archive is ever overwritten by a different chart.
 */
export class FileClaims {
  private readonly holders = new Map<string, { ref: ChartRef; where: string }>();
  constructor(published: PublishedVersion[]) {
    for (const v of published) this.holders.set(fileKey(v), { ref: v, where: 'published' });
  }
  /** Claims the chart's file; the message naming the holder when another version has it. */
  claim(ref: ChartRef, where: string): string | undefined {
    const key = fileKey(ref);
    const holder = this.holders.get(key);
    if (holder && chartKey(holder.ref) !== chartKey(ref)) {
      return `${ref.name} ${ref.version} would be stored as ${archiveName(ref)}, the archive file of ${holder.ref.name} ${holder.ref.version} (${holder.where}); rename the chart or change its version`;
    }
    if (!holder) this.holders.set(key, { ref, where });
    return undefined;
  }
}
