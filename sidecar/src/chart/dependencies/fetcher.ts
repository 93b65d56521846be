/**
 * Network side of dependency resolution: repository indexes (fetched once per packaging run)
 * and chart archives (verified against the index digest, cached by digest on disk).
 */

import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../storage/atomic-file.js';
import type { DependencyRepository, PackageOptions } from '../model.js';
import { type BasicAuth, type GetOptions, httpGet, redactUrl } from './http-get.js';
import { archiveUrl, type IndexEntry, parseIndex, type RepoIndex } from './repo-index.js';
import { runCached } from './run-cache.js';

const MAX_INDEX_BYTES = 64 * 1024 * 1024;
/** Same bound as helm's loader puts on a chart. */
const MAX_ARCHIVE_BYTES = 100 * 1024 * 1024;
export const DEFAULT_TIMEOUT_MS = 60_000;

export class FetchError extends Error {
  override name = 'FetchError';
}

/** Where to fetch from and with which credentials. */
export interface Source {
  fetchUrl: string;
  registered?: DependencyRepository | undefined;
}

function getOptions(source: Source, opts: PackageOptions, maxBytes: number): GetOptions {
  const r = source.registered;
  const auth: BasicAuth | undefined =
    r?.username !== undefined || r?.password !== undefined
      ? { username: r?.username ?? '', password: r?.password ?? '' }
      : undefined;
  return {
    timeoutMs: opts.dependencyTimeoutMs ?? DEFAULT_TIMEOUT_MS,
    maxBytes,
    ...(auth ? { auth, authOrigin: new URL(source.fetchUrl).origin } : {}),
  };
}

function indexUrl(repoUrl: string): string {
  const u = new URL(repoUrl);
  u.pathname = `${u.pathname.replace(/\/+$/, '')}/index.yaml`;
  return u.href;
}

/** The repository's index, fetched at most once per run (per URL and user; run-cache.ts). */
export function fetchIndex(source: Source, opts: PackageOptions): Promise<RepoIndex> {
  const cache = runCached(opts, 'indexes', () => new Map<string, Promise<RepoIndex>>());
  const key = `${source.fetchUrl}\u0000${source.registered?.username ?? ''}`;
  let pending = cache.get(key);
  if (!pending) {
    const url = indexUrl(source.fetchUrl);
    pending = httpGet(url, getOptions(source, opts, MAX_INDEX_BYTES)).then((data) =>
      parseIndex(data, redactUrl(url)),
    );
    // A failed fetch is not cached: the next chart of the run may retry.
    pending.catch(() => cache.delete(key));
    cache.set(key, pending);
  }
  return pending;
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

export async function readCached(cacheDir: string, digest: string): Promise<Buffer | undefined> {
  try {
    const data = await readFile(join(cacheDir, `${digest}.tgz`));
    return sha256(data) === digest ? data : undefined;
  } catch {
    return undefined;
  }
}

export async function writeCached(cacheDir: string, digest: string, data: Buffer): Promise<void> {
  await writeFileAtomic(join(cacheDir, `${digest}.tgz`), data);
}

/**
 * The sha256 the index gives for the entry (hex, lower case), if any. The index is remote input
 * and the digest names the cache file: anything but 64 hex digits (`../../x`) is refused here,
 * before it can become a path.
 */
function indexDigest(entry: IndexEntry, url: string): string | undefined {
  if (entry.digest === undefined) return undefined;
  const hex = entry.digest.toLowerCase().replace(/^sha256:/, '');
  if (/^[0-9a-f]{64}$/.test(hex)) return hex;
  throw new FetchError(`${redactUrl(url)}: the index gives a digest that is not a sha256 (64 hex digits)`);
}

/** Downloads the entry's archive (or takes it from the cache) and checks the index digest. */
export async function fetchArchive(
  source: Source,
  entry: IndexEntry,
  opts: PackageOptions,
): Promise<{ data: Buffer; url: string; cached: boolean }> {
  const url = archiveUrl(source.fetchUrl, entry);
  const expected = indexDigest(entry, url);
  if (expected && opts.cacheDir) {
    const cached = await readCached(opts.cacheDir, expected);
    if (cached) return { data: cached, url, cached: true };
  }
  const data = await httpGet(url, getOptions(source, opts, MAX_ARCHIVE_BYTES));
  const actual = sha256(data);
  if (expected && actual !== expected) {
    throw new FetchError(
      `${redactUrl(url)}: digest mismatch: the index says sha256:${expected}, the download is sha256:${actual}`,
    );
  }
  if (expected && opts.cacheDir) await writeCached(opts.cacheDir, expected, data);
  return { data, url, cached: false };
}
