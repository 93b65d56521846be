/**
 * The narrow interface between the sync engine and where charts end up. A repo's charts live
 * in their own namespace (ChartMuseum's `--depth=1` multi-tenancy: `<repo>/<name>-<version>.tgz`).
 */
import type { StagedChart } from '../chart/model.js';

/** A chart version as the target holds it. */
export interface PublishedVersion {
  name: string;
  version: string;
  /** sha256 of the archive, hex. */
  digest: string;
}

export interface ChartRef {
  name: string;
  version: string;
}

/** Per-item outcome of a batch: failures name the chart, successes carry nothing. */
export interface BatchOutcome {
  failed: Map<string, Error>;
}

export interface Publisher {
  readonly kind: 'local' | 'chartmuseum' | 'oci';
  /** Where charts go, for logs and errors: never contains credentials. */
  readonly target: string;
  /** Every version currently published in `repo` (empty when the repo has none). */
  list(repo: string): Promise<PublishedVersion[]>;
  /**
   * Targets shared with other uploaders (an OCI registry) report the versions among `refs` that
   * they hold but `list` does not (someone else's), so that a sync reports those as conflicts
   * (or unchanged, when the content is the same) instead of overwriting them.
   */
  occupied?(repo: string, refs: ChartRef[]): Promise<PublishedVersion[]>;
  /** The published archive, to compare contents; undefined when absent. */
  fetch(repo: string, ref: ChartRef): Promise<Buffer | undefined>;
  /**
   * Adds the new archives and removes the given versions. Each item succeeds or fails on its
   * own (keyed by `chartKey`); an item that fails leaves the previously published state alone.
   */
  // A property, not a method: its parameter types are checked strictly (contravariantly).
  apply: (repo: string, add: StagedChart[], remove: ChartRef[]) => Promise<BatchOutcome>;
  /**
   * Removes what is left of the repo's namespace once its own charts were deleted (the local
   * target: the index and the directory, unless files someone else put there remain).
   */
  removeRepo(repo: string): Promise<void>;
  /**
   * A directory on the target itself for the repo's bookkeeping (sync state, ownership record),
   * so that it lives and dies with what was published. Absent when the target holds nothing but
   * charts (ChartMuseum, OCI): the sidecar's data dir keeps it then.
   */
  bookkeepingDir?(repo: string): string;
  /** Throws when the target cannot be reached (readiness). */
  check(): Promise<void>;
}

export function chartKey(ref: ChartRef): string {
  return `${ref.name}@${ref.version}`;
}

/** `<name>-<version>.tgz`: one definition, shared with the chart engine's name checks. */
export { archiveFileName as archiveName } from '../chart/validate.js';

/** An error of the publishing target: the sync reports it as `upstream_failed`. */
export class PublishError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PublishError';
  }

  /** `StorageFull` when the target ran out of bytes or inodes, else `PublishFailed`. */
  get reason(): 'StorageFull' | 'PublishFailed' {
    return isStorageFull(this) ? 'StorageFull' : 'PublishFailed';
  }
}

/** Out of space or inodes (ENOSPC), or over a quota (EDQUOT), anywhere in the cause chain. */
export function isStorageFull(err: unknown): boolean {
  for (let e = err, depth = 0; e && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOSPC' || code === 'EDQUOT') return true;
  }
  return false;
}
