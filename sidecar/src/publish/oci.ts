/**
 * Publishes to an OCI registry like `helm push`: each chart as `<prefix>/<repo>/<name>:<tag>`
 * (tag = version with `+` as `_`), with the manifest, config, layer and annotations helm writes
 * (sidecar/src/oci/chart.ts; `created` is the archive's entry time, i.e. the commit time, so a
 * push is reproducible). Blobs go first and the manifest last: a push cut short leaves only
 * unreferenced blobs, never a tag. A registry has no per-tenant listing that every registry
 * supports, so what this repo pushed is recorded in a ledger under the data dir (a new tag
 * before its manifest PUT, see push); `list` reports the ledger entries whose tag still points at the manifest
 * chartsync pushed, and only those tags are ever deleted (by tag, see deleteOwned). A tag that exists with other content is
 * never overwritten: the chart fails with a conflict message.
 */
import { createHash } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { constants, gunzipSync } from 'node:zlib';
import type { StagedChart } from '../chart/model.js';
import { chartArtifact, HELM_CHART_MEDIA_TYPE, pullChart, pushChart, rfc3339Seconds } from '../oci/chart.js';
import { OciClient, OciError, parseManifest } from '../oci/client.js';
import {
  chartRepository,
  formatRepository,
  type OciRepository,
  parseOciUrl,
  versionToTag,
} from '../oci/reference.js';
import { ociSettingsFromEnv } from '../oci/settings.js';
import { writeFileAtomic } from '../storage/atomic-file.js';
import {
  type BatchOutcome,
  type ChartRef,
  chartKey,
  PublishError,
  type PublishedVersion,
  type Publisher,
} from './publisher.js';
import { DEFAULT_RETRY, type RetryPolicy, withRetry } from './retry.js';

export interface OciTargetOptions {
  /** `oci://host[:port][/path]` */
  url: string;
  username?: string;
  password?: string;
  /** Where the ledger of pushed manifests is kept. */
  dataDir: string;
  timeoutMs?: number;
  retry?: RetryPolicy;
  /** PEM CA certificates trusted for this registry only (`--oci-ca-file`). */
  caCerts?: string;
  /** Push to this registry over plain HTTP (`--oci-plain-http`). */
  plainHttp?: boolean;
}

interface LedgerEntry {
  name: string;
  version: string;
  /** sha256 of the archive, hex (the chart layer's digest). */
  digest: string;
  /** The manifest chartsync pushed. */
  manifest: string;
}

interface Ledger {
  prefix: string;
  charts: Record<string, LedgerEntry>;
}

/** The time of the archive's first entry (Chart.yaml): chartsync sets it to the commit time. */
export function archiveEntryTime(archive: Buffer): Date {
  const head = gunzipSync(archive.subarray(0, 64 * 1024), { finishFlush: constants.Z_SYNC_FLUSH });
  const field = head
    .subarray(136, 148)
    .toString('latin1')
    .replace(/[\0 ]+$/, '')
    .trim();
  const seconds = Number.parseInt(field, 8);
  return new Date((Number.isFinite(seconds) ? seconds : 0) * 1000);
}

/**
 * What a tag holds, as a published digest: the chart layer's (hex, comparable with an archive's
 * sha256) when it is a chart manifest, else the manifest's own digest — an image index or any
 * other artifact is someone else's content, never a reason to fail the whole sync.
 */
function heldDigest(found: { digest: string; data: Buffer }, where: string): string {
  try {
    const layer = parseManifest(found.data, where).layers.find((l) => l.mediaType === HELM_CHART_MEDIA_TYPE);
    return layer ? layer.digest.replace(/^sha256:/, '') : found.digest;
  } catch {
    return found.digest;
  }
}

const retryable = (err: unknown) => err instanceof OciError && err.kind === 'unavailable';

export class OciPublisher implements Publisher {
  readonly kind = 'oci';
  readonly target: string;
  private readonly prefix: string;
  private readonly client: OciClient;
  private readonly ledgerDir: string;
  private readonly retry: RetryPolicy;
  private readonly registry: string;

  constructor(opts: OciTargetOptions) {
    const parsed = parseOciUrl(opts.url);
    this.registry = parsed.registry;
    this.prefix = `oci://${parsed.registry}${parsed.path ? `/${parsed.path}` : ''}`;
    this.target = `oci ${this.prefix}`;
    const creds =
      opts.username !== undefined || opts.password !== undefined
        ? { username: opts.username ?? '', password: opts.password ?? '' }
        : undefined;
    this.client = new OciClient({
      timeoutMs: opts.timeoutMs ?? 60_000,
      ...ociSettingsFromEnv(),
      access: (registry) =>
        registry === parsed.registry ? { caCerts: opts.caCerts, plainHttp: opts.plainHttp } : undefined,
      credentials: (registry) => (registry === parsed.registry ? creds : undefined),
    });
    const id = createHash('sha256').update(this.prefix).digest('hex').slice(0, 16);
    this.ledgerDir = join(opts.dataDir, 'oci-ledger', id);
    this.retry = opts.retry ?? DEFAULT_RETRY;
  }

  private repoOf(repo: string, name: string) {
    return chartRepository(`${this.prefix}/${repo}`, name);
  }

  private ledgerFile(repo: string): string {
    return join(this.ledgerDir, `${repo}.json`);
  }

  private async readLedger(repo: string): Promise<Ledger> {
    try {
      const parsed = JSON.parse(await readFile(this.ledgerFile(repo), 'utf8')) as Ledger;
      if (parsed.prefix === this.prefix && parsed.charts && typeof parsed.charts === 'object') return parsed;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
        throw new PublishError(`${this.target}: ledger of ${repo} unreadable: ${(err as Error).message}`);
    }
    return { prefix: this.prefix, charts: {} };
  }

  private writeLedger(repo: string, ledger: Ledger): Promise<void> {
    return writeFileAtomic(this.ledgerFile(repo), `${JSON.stringify(ledger, null, 1)}\n`, 0o600);
  }

  private wrap(what: string, err: unknown): PublishError {
    if (err instanceof PublishError) return err;
    const message = err instanceof Error ? err.message : String(err);
    return new PublishError(`${this.target}: ${what}: ${message}`, { cause: err });
  }

  private call<T>(fn: () => Promise<T>): Promise<T> {
    return withRetry(fn, retryable, this.retry);
  }

  /**
   * What the ledger says this repo pushed. A tag that someone else moved is reported with the
   * digest of what it holds now (the sync then reports a conflict for it), and is no longer
   * deleted by chartsync.
   */
  async list(repo: string): Promise<PublishedVersion[]> {
    const ledger = await this.readLedger(repo);
    const out: PublishedVersion[] = [];
    for (const e of Object.values(ledger.charts)) {
      const oci = this.repoOf(repo, e.name);
      const found = await this.call(() => this.client.manifestBytes(oci, versionToTag(e.version))).catch(
        (err) => {
          throw this.wrap(`checking ${e.name}:${e.version}`, err);
        },
      );
      if (!found) continue;
      const digest = found.digest === e.manifest ? e.digest : heldDigest(found, formatRepository(oci));
      out.push({ name: e.name, version: e.version, digest });
    }
    return out;
  }

  /** Tags among `refs` that exist in the registry without chartsync having pushed them. */
  async occupied(repo: string, refs: ChartRef[]): Promise<PublishedVersion[]> {
    const ledger = await this.readLedger(repo);
    const out: PublishedVersion[] = [];
    for (const ref of refs) {
      if (ledger.charts[chartKey(ref)]) continue;
      const oci = this.repoOf(repo, ref.name);
      const found = await this.call(() => this.client.manifestBytes(oci, versionToTag(ref.version))).catch(
        (err) => {
          throw this.wrap(`checking ${ref.name}:${ref.version}`, err);
        },
      );
      if (found)
        out.push({ name: ref.name, version: ref.version, digest: heldDigest(found, formatRepository(oci)) });
    }
    return out;
  }

  async fetch(repo: string, ref: ChartRef): Promise<Buffer | undefined> {
    const oci = this.repoOf(repo, ref.name);
    try {
      const pulled = await this.call(() =>
        pullChart(this.client, oci, versionToTag(ref.version), formatRepository(oci)),
      );
      return pulled.data;
    } catch (err) {
      // A tag holding no chart we would read (an image index, another artifact, a layer above
      // the limit) has no content to compare: the sync reports a conflict for that version
      // instead of failing as a whole.
      if (err instanceof OciError && ['notFound', 'invalid', 'limit'].includes(err.kind)) return undefined;
      throw this.wrap(`pulling ${ref.name}:${ref.version}`, err);
    }
  }

  async apply(repo: string, add: StagedChart[], remove: ChartRef[]): Promise<BatchOutcome> {
    const failed = new Map<string, Error>();
    const ledger = await this.readLedger(repo);
    for (const chart of add) {
      try {
        await this.push(repo, chart, ledger);
      } catch (err) {
        failed.set(chartKey(chart), this.wrap(`pushing ${chart.name}:${chart.version}`, err));
      }
    }
    for (const ref of remove) {
      const entry = ledger.charts[chartKey(ref)];
      if (!entry) continue;
      try {
        await this.deleteOwned(repo, entry);
        delete ledger.charts[chartKey(ref)];
        await this.writeLedger(repo, ledger);
      } catch (err) {
        failed.set(chartKey(ref), this.wrap(`deleting ${ref.name}:${ref.version}`, err));
      }
    }
    return { failed };
  }

  /**
   * Pushes one chart and records it in the ledger. A new tag is recorded before the push
   * (write-ahead, as the ownership record of the other targets): a crash or a lost answer after
   * the manifest PUT must not leave a tag the ledger does not name — nothing could ever prune or
   * delete it. An entry whose push then failed names a manifest no tag holds, which owns nothing.
   */
  private async push(repo: string, chart: StagedChart, ledger: Ledger): Promise<void> {
    const key = chartKey(chart);
    const owned = ledger.charts[key];
    const oci = this.repoOf(repo, chart.name);
    const tag = versionToTag(chart.version);
    // One archive in memory at a time, read when its push starts.
    const data = await readFile(chart.path);
    const artifact = chartArtifact(data, chart.metadata, rfc3339Seconds(archiveEntryTime(data)));
    const existing = await this.call(() => this.client.resolveTag(oci, tag));
    if (existing && existing !== artifact.digest && existing !== owned?.manifest) {
      throw new PublishError(
        `${formatRepository(oci)}:${tag} already exists with other content (manifest ${existing}); not overwritten (conflict): bump the chart version`,
      );
    }
    const entry = {
      name: chart.name,
      version: chart.version,
      digest: chart.digest,
      manifest: artifact.digest,
    };
    if (existing !== artifact.digest) {
      // Replacing a manifest chartsync pushed: its entry stays until the new one is in place.
      if (!owned) await this.record(repo, ledger, key, entry);
      await this.call(() => pushChart(this.client, oci, tag, artifact));
    }
    await this.record(repo, ledger, key, entry);
  }

  private async record(repo: string, ledger: Ledger, key: string, entry: LedgerEntry): Promise<void> {
    ledger.charts[key] = entry;
    await this.writeLedger(repo, ledger);
  }

  /**
   * Deletes chartsync's tag, only while it still points at what chartsync pushed. By tag, not by
   * digest: deleting the manifest would take every other tag naming it along (a `stable` someone
   * put on a version chartsync pushed). A registry that deletes only by digest gets the digest
   * deletion when no other tag names the manifest, and an error naming those tags otherwise.
   */
  private async deleteOwned(repo: string, entry: LedgerEntry): Promise<void> {
    const oci = this.repoOf(repo, entry.name);
    const tag = versionToTag(entry.version);
    const current = await this.call(() => this.client.resolveTag(oci, tag));
    if (current !== entry.manifest) return;
    // Checked afterwards: a registry may answer a tag deletion it does not do with 202 or 404.
    const byTag = await this.call(() => this.client.deleteTag(oci, tag));
    if (
      byTag !== 'unsupported' &&
      (await this.call(() => this.client.resolveTag(oci, tag))) !== entry.manifest
    )
      return;
    const others = await this.otherTags(oci, tag, entry.manifest);
    if (others.length) {
      throw new PublishError(
        `${formatRepository(oci)}:${tag} not deleted: the registry deletes only by digest, which would also delete the tag(s) ${others.slice(0, 5).join(', ')} naming the same manifest`,
      );
    }
    await this.call(() => this.client.deleteManifest(oci, entry.manifest));
  }

  /** The tags other than `tag` that name `manifest` (one request per tag: the rare fallback). */
  private async otherTags(oci: OciRepository, tag: string, manifest: string): Promise<string[]> {
    const out: string[] = [];
    for (const other of await this.call(() => this.client.tags(oci))) {
      if (other !== tag && (await this.call(() => this.client.resolveTag(oci, other))) === manifest)
        out.push(other);
    }
    return out;
  }

  async removeRepo(repo: string): Promise<void> {
    const ledger = await this.readLedger(repo);
    for (const [key, entry] of Object.entries(ledger.charts)) {
      try {
        await this.deleteOwned(repo, entry);
      } catch (err) {
        throw this.wrap(`deleting ${entry.name}:${entry.version}`, err);
      }
      delete ledger.charts[key];
      await this.writeLedger(repo, ledger);
    }
    await rm(this.ledgerFile(repo), { force: true });
  }

  /** The registry answers `/v2/` (200, or 401 asking for auth). */
  async check(): Promise<void> {
    const status = await this.client.ping(this.registry, 2000).catch((err) => {
      throw this.wrap('readiness', err);
    });
    if (status !== 200 && status !== 401)
      throw new PublishError(`${this.target}: /v2/ answered HTTP ${status}`);
  }
}
