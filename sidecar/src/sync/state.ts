/**
 * What the last sync of a repo knew, persisted per repo: the commit and configuration it synced
 * and, per chart directory, the change key of its sources and what it published from them.
 * With it, an update whose remote head and configuration are unchanged costs one ref check, and
 * an update of a new commit only rebuilds the charts whose change key moved.
 */
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Reason } from '@chartsync/api';
import { writeFileAtomic } from '../storage/atomic-file.js';
import { KeyedQueue } from '../storage/keyed-queue.js';

export interface ChartState {
  /** Hash of the git tree ids of the chart and of its `file://` dependencies (+ config). */
  key: string;
  name: string;
  version: string;
  digest: string;
  /** The build failed (or, with `conflict`, the version was already published with other content). */
  error?: string;
  reason?: Reason;
  conflict?: boolean;
  /** For a failed build: the chart names whose published versions this directory holds (kept from prune). */
  held?: string[];
  /** The chart directory's tree id and the dependency links read from it (reused while the tree is unchanged). */
  tree?: string;
  links?: { local: string[]; remote: boolean };
}

export interface RepoState {
  /** The synced commit; only set when the sync completed without publishing errors. */
  commit?: string;
  /** Hash of everything besides the commit that shapes the packages (ref, paths, dependencies). */
  configKey?: string;
  /** By chart directory (relative to the checkout). */
  charts: Record<string, ChartState>;
}

export const STATE_FILE = '.chartsync-state.json';

export class StateStore {
  private readonly home: (repo: string) => string;
  /** The last state read or written per repo: a no-change update reads nothing from disk. */
  private readonly cache = new Map<string, RepoState>();

  /** `home(repo)`: the directory holding the repo's bookkeeping (beside its charts when possible). */
  constructor(home: (repo: string) => string) {
    this.home = home;
  }

  async read(repo: string): Promise<RepoState> {
    const cached = this.cache.get(repo);
    if (cached) return cached;
    try {
      const parsed = JSON.parse(await readFile(this.file(repo), 'utf8')) as RepoState;
      const state = { ...parsed, charts: chartRecord(parsed.charts) };
      this.cache.set(repo, state);
      return state;
    } catch {
      // Missing or unreadable state only costs a full rebuild, never a wrong answer.
      return { charts: chartRecord() };
    }
  }

  /**
   * The new state is current at once (in memory); the file follows in the background, writes of
   * one repo in order. A lost write only costs a rebuild whose packages compare as unchanged.
   */
  write(repo: string, state: RepoState): Promise<void> {
    this.cache.set(repo, state);
    return this.writes.run(repo, async () => {
      try {
        await writeFileAtomic(this.file(repo), JSON.stringify(state));
      } catch (err) {
        // Memory must not claim what the disk does not hold (a restart would not know it):
        // forget the state, the next update reads the file and rebuilds what it lacks.
        if (this.cache.get(repo) === state) this.cache.delete(repo);
        throw err;
      }
    });
  }

  remove(repo: string): Promise<void> {
    this.cache.set(repo, { charts: chartRecord() });
    return this.writes.run(repo, () => rm(this.file(repo), { force: true }));
  }

  private readonly writes = new KeyedQueue();

  private file(repo: string): string {
    return join(this.home(repo), STATE_FILE);
  }
}

/**
 * Per-directory states keyed by the directory's path in the checkout, in a record without a
 * prototype: a chart directory may be named `__proto__` (an assignment would set the record's
 * prototype, and the state would be lost) or `constructor` (a lookup would find Object's).
 */
export function chartRecord(from: Record<string, ChartState> = {}): Record<string, ChartState> {
  return Object.assign(Object.create(null) as Record<string, ChartState>, from);
}
