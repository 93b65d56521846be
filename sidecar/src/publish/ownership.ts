/**
 * The ownership record: which chart versions this repo published to its target, each with the
 * sha256 of the archive it published. Prune and `DELETE /repo/:name` remove only versions the
 * record holds with the digest the target still shows, so a version someone else uploaded into
 * the repo's namespace (reported as `conflict`), or replaced afterwards, is never deleted.
 *
 * The record is written before the archives it lists (write-ahead): a crash in between leaves an
 * entry without a file, which owns nothing, never a published file without an entry (that one
 * could never be removed again). It is kept where the sync state is, beside the published charts
 * when the target is a directory (see `Publisher.bookkeepingDir`).
 */
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../storage/atomic-file.js';
import { KeyedQueue } from '../storage/keyed-queue.js';
import { type ChartRef, chartKey, PublishError, type PublishedVersion } from './publisher.js';

export const OWNERSHIP_FILE = '.chartsync-owned.json';

interface OwnershipFile {
  version: 1;
  /** `name@version` → sha256 hex of the archive this repo published. */
  charts: Record<string, string>;
}

export class OwnershipStore {
  private readonly home: (repo: string) => string;
  private readonly cache = new Map<string, Record<string, string>>();
  private readonly writes = new KeyedQueue();

  /** `home(repo)`: the directory holding the repo's bookkeeping. */
  constructor(home: (repo: string) => string) {
    this.home = home;
  }

  /** The published versions this repo owns (same name, version and digest as recorded). */
  async owned(repo: string, published: PublishedVersion[]): Promise<PublishedVersion[]> {
    const charts = await this.read(repo);
    return published.filter((v) => v.digest !== '' && charts[chartKey(v)] === v.digest);
  }

  /**
   * Records `add` as owned and forgets `remove`, durably, before returning. Throws when the
   * record cannot be written (e.g. the disk is full): the caller must then not publish.
   */
  async update(repo: string, add: PublishedVersion[], remove: ChartRef[] = []): Promise<void> {
    await this.writes.run(repo, async () => {
      const before = await this.read(repo);
      const next = { ...before };
      for (const v of add) next[chartKey(v)] = v.digest;
      for (const r of remove) delete next[chartKey(r)];
      if (sameRecord(before, next)) return;
      const file: OwnershipFile = { version: 1, charts: next };
      await writeFileAtomic(this.file(repo), JSON.stringify(file));
      this.cache.set(repo, next);
    });
  }

  /** Forgets the record (the repo was removed). */
  async remove(repo: string): Promise<void> {
    await this.writes.run(repo, async () => {
      await rm(this.file(repo), { force: true });
      this.cache.delete(repo);
    });
  }

  private async read(repo: string): Promise<Record<string, string>> {
    const cached = this.cache.get(repo);
    if (cached) return cached;
    let text: string;
    try {
      text = await readFile(this.file(repo), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw err;
    }
    // An unreadable record must not be taken for an empty one silently: it would disown
    // everything (nothing pruned, nothing deleted). Say so; the operator can fix or delete it.
    let parsed: Partial<OwnershipFile>;
    try {
      parsed = JSON.parse(text) as Partial<OwnershipFile>;
    } catch (err) {
      throw new PublishError(`${this.file(repo)} is not a valid ownership record: ${(err as Error).message}`);
    }
    const charts = parsed && typeof parsed.charts === 'object' && parsed.charts ? parsed.charts : {};
    this.cache.set(repo, charts);
    return charts;
  }

  private file(repo: string): string {
    return join(this.home(repo), OWNERSHIP_FILE);
  }
}

function sameRecord(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}
