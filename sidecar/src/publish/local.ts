/**
 * Publishes into a local directory laid out like ChartMuseum's local storage with `--depth=1`:
 * `<dir>/<repo>/<name>-<version>.tgz`, plus `<dir>/<repo>/index.yaml` for static serving
 * (the sidecar's `/charts/` routes, or any web server). Every file is replaced atomically, and
 * the index is written after the archives it lists.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { IndexInput } from '../chart/index.js';
import type { StagedChart } from '../chart/model.js';
import { moveFileAtomic, writeFileAtomic } from '../storage/atomic-file.js';
import { probeWritable } from '../storage/probe.js';
import { parseIndex, serializeIndex, withEntry, withoutVersion } from './index-file.js';
import {
  archiveName,
  type BatchOutcome,
  type ChartRef,
  chartKey,
  PublishError,
  type PublishedVersion,
  type Publisher,
} from './publisher.js';

/** The temp names of writeFileAtomic: `.<file>.<12 hex>.tmp`. */
const TEMP_FILE = /^\..+\.[0-9a-f]{12}\.tmp$/;
/**
 * The sync's bookkeeping (state, ownership record) per repo, on the storage volume beside the
 * charts. A hidden directory: ChartMuseum only reads `*.tgz`, and `.chartsync` is no repo name.
 */
const BOOKKEEPING = '.chartsync/state';

export class LocalPublisher implements Publisher {
  readonly kind = 'local';
  readonly target: string;
  private readonly root: string;

  constructor(root: string) {
    this.root = root;
    this.target = `storage dir ${root}`;
  }

  async list(repo: string): Promise<PublishedVersion[]> {
    const [index, files] = await Promise.all([this.readIndex(repo), this.archives(repo)]);
    return index
      .filter((e) => files.has(e.fileName))
      .map((e) => ({ name: e.metadata.name, version: e.metadata.version, digest: e.digest }));
  }

  async fetch(repo: string, ref: ChartRef): Promise<Buffer | undefined> {
    try {
      return await readFile(join(this.root, repo, archiveName(ref)));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async apply(repo: string, add: StagedChart[], remove: ChartRef[]): Promise<BatchOutcome> {
    const failed = new Map<string, Error>();
    await this.removeStaleTemps(repo);
    const before = await this.readIndex(repo);
    let index = before;
    const created = new Date();
    const written: StagedChart[] = [];
    for (const chart of add) {
      try {
        // Chart names are validated by the engine; this keeps every write inside the repo dir regardless.
        if (basename(chart.fileName) !== chart.fileName || chart.fileName.startsWith('.')) {
          throw new Error(`refusing archive name ${JSON.stringify(chart.fileName)}`);
        }
        // The index written below syncs the directory, making these renames durable with it.
        await moveFileAtomic(chart.path, join(this.root, repo, chart.fileName), 0o644, { syncDir: false });
        written.push(chart);
        index = withEntry(index, {
          metadata: chart.metadata,
          fileName: chart.fileName,
          digest: chart.digest,
          created,
        });
      } catch (err) {
        failed.set(chartKey(chart), this.error(`writing ${repo}/${chart.fileName}`, err));
      }
    }
    // Nothing to change and an index in place: no write (a no-op sync must not need disk space).
    if (add.length === 0 && remove.length === 0 && this.indexCache.has(repo)) return { failed };
    for (const ref of remove) index = withoutVersion(index, ref.name, ref.version);
    // The index stops listing removed versions before their archives go: no dangling URLs.
    try {
      await this.writeIndex(repo, index);
    } catch (err) {
      // The index still lists what it listed: the archives of this batch go again (nothing stays
      // outside the index), nothing is removed, and every item of the batch failed.
      const cause = this.error(`writing ${repo}/index.yaml`, err);
      await this.rollBack(repo, written, before);
      for (const item of [...add, ...remove]) failed.set(chartKey(item), cause);
      return { failed };
    }
    for (const ref of remove) {
      try {
        if (await this.replacedSince(repo, ref, before)) continue;
        await rm(join(this.root, repo, archiveName(ref)), { force: true });
        await rm(join(this.root, repo, `${archiveName(ref)}.prov`), { force: true });
      } catch (err) {
        failed.set(chartKey(ref), this.error(`removing ${repo}/${archiveName(ref)}`, err));
      }
    }
    return { failed };
  }

  /**
   * Is the archive of `ref` no longer the one the index listed? The digest `list` reports comes
   * from this repo's own index, so a file written over afterwards (ChartMuseum with
   * `--allow-overwrite` on the same storage, a copy by hand) still shows as ours: checked against
   * the bytes before deleting. Someone else's file stays, unlisted, as a copied-in one does.
   */
  private async replacedSince(repo: string, ref: ChartRef, indexed: IndexInput[]): Promise<boolean> {
    const entry = indexed.find((e) => e.metadata.name === ref.name && e.metadata.version === ref.version);
    if (!entry?.digest) return false;
    let data: Buffer;
    try {
      data = await readFile(join(this.root, repo, archiveName(ref)));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
    return createHash('sha256').update(data).digest('hex') !== entry.digest;
  }

  /**
   * Temp files of writes cut short by a crash (`kill -9`, power loss) are hidden from helm and
   * ChartMuseum, but would stay forever; a repo's writes are serialised, so any left at the
   * start of a batch are stale.
   */
  private async removeStaleTemps(repo: string): Promise<void> {
    const dir = join(this.root, repo);
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const name of names.filter((n) => TEMP_FILE.test(n))) await rm(join(dir, name), { force: true });
  }

  /** Deletes archives written by a batch whose index could not be written (unless indexed before). */
  private async rollBack(repo: string, written: StagedChart[], indexed: IndexInput[]): Promise<void> {
    const listed = new Set(indexed.map((e) => e.fileName));
    for (const chart of written.filter((c) => !listed.has(c.fileName)))
      await rm(join(this.root, repo, chart.fileName), { force: true }).catch(() => undefined);
  }

  /** The repo's directory goes once no archive is left in it (files someone else put there stay). */
  async removeRepo(repo: string): Promise<void> {
    this.indexCache.delete(repo);
    if ((await this.archives(repo)).size > 0) return;
    await rm(join(this.root, repo), { recursive: true, force: true });
  }

  bookkeepingDir(repo: string): string {
    return join(this.root, BOOKKEEPING, repo);
  }

  /**
   * Ready while a file can really be written: a full disk (bytes or inodes) still passes an
   * access() check, so a small file is created, written and removed.
   */
  async check(): Promise<void> {
    try {
      await probeWritable(this.root);
    } catch (err) {
      throw this.error('not writable', err);
    }
  }

  /** Parsed indexes by repo, reused while the file's mtime and size are unchanged. */
  private readonly indexCache = new Map<string, { stamp: string; index: IndexInput[] }>();

  private async readIndex(repo: string): Promise<IndexInput[]> {
    const path = join(this.root, repo, 'index.yaml');
    try {
      const stamp = await this.stamp(path);
      const cached = this.indexCache.get(repo);
      if (cached?.stamp === stamp) return cached.index;
      const index = parseIndex(await readFile(path, 'utf8'), path);
      this.indexCache.set(repo, { stamp, index });
      return index;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw this.error(`reading ${path}`, err);
    }
  }

  private async writeIndex(repo: string, index: IndexInput[]): Promise<void> {
    const path = join(this.root, repo, 'index.yaml');
    this.indexCache.delete(repo);
    await writeFileAtomic(path, serializeIndex(index));
    this.indexCache.set(repo, { stamp: await this.stamp(path), index });
  }

  private async stamp(path: string): Promise<string> {
    const st = await stat(path);
    return `${st.mtimeMs}:${st.size}:${st.ino}`;
  }

  private async archives(repo: string): Promise<Set<string>> {
    try {
      return new Set((await readdir(join(this.root, repo))).filter((f) => f.endsWith('.tgz')));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Set();
      throw this.error(`listing ${join(this.root, repo)}`, err);
    }
  }

  private error(what: string, err: unknown): PublishError {
    return new PublishError(`${this.target}: ${what}: ${(err as Error).message}`, { cause: err });
  }
}
