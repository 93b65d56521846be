/**
 * Helm repository `index.yaml`, written as `helm repo index` writes it: apiVersion v1, one
 * entry list per chart name, newest version first by SemVer, each entry being the chart's
 * metadata plus `urls`, `created` and `digest`, and a `generated` time.
 */
import { createHash } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { writeFileAtomic } from '../storage/atomic-file.js';
import { compareBytes } from './byte-names.js';
import { type EmitValue, emitGoYaml, type ItemMemo } from './go-yaml-emit.js';
import { MAX_DECOMPRESSED_CHART_SIZE } from './limits.js';
import { loadChartArchive } from './load-archive.js';
import { normaliseGoTime } from './lock.js';
import { type Decoded, encodeStruct, METADATA } from './metadata.js';
import type { ChartMetadata } from './model.js';
import { checkMetadata } from './validate.js';
import { compareVersions, parseVersion } from './version.js';

export interface IndexInput {
  metadata: ChartMetadata;
  /** The archive's path relative to the repository root, e.g. `app-1.0.0.tgz`. */
  fileName: string;
  /** sha256 hex of the archive. */
  digest: string;
  /** When the version was first published; defaults to `generated`. */
  created?: Date;
}

export interface IndexEntry {
  metadata: ChartMetadata;
  urls: string[];
  created: string;
  digest: string;
}

export interface IndexFile {
  apiVersion: 'v1';
  generated: string;
  entries: Record<string, IndexEntry[]>;
}

/** Builds the index; `baseUrl` prefixes the file names like `helm repo index --url`. */
export function buildIndex(
  charts: IndexInput[],
  opts: { baseUrl?: string; generated?: Date } = {},
): IndexFile {
  const generated = opts.generated ?? new Date();
  // Keyed by chart name: `constructor` and `toString` are valid chart names, and on a plain
  // object they would find Object's methods (`list.push is not a function`, no index at all).
  const entries: Record<string, IndexEntry[]> = Object.create(null);
  for (const c of charts) {
    const metadata = { ...c.metadata, apiVersion: c.metadata.apiVersion || 'v1' };
    const problem = checkMetadata(metadata);
    if (problem) throw new Error(`cannot index ${c.fileName}: ${problem}`);
    const url = opts.baseUrl ? joinUrl(opts.baseUrl, c.fileName) : c.fileName;
    const list = entries[metadata.name] ?? [];
    list.push({ metadata, urls: [url], created: goTime(c.created ?? generated), digest: c.digest });
    entries[metadata.name] = list;
  }
  for (const list of Object.values(entries)) list.sort(newestFirst);
  return { apiVersion: 'v1', generated: goTime(generated), entries };
}

function newestFirst(a: IndexEntry, b: IndexEntry): number {
  const va = parseVersion(a.metadata.version);
  const vb = parseVersion(b.metadata.version);
  if (typeof va === 'string' || typeof vb === 'string')
    return compareBytes(b.metadata.version, a.metadata.version);
  return compareVersions(vb, va) || compareBytes(b.metadata.version, a.metadata.version);
}

function goTime(d: Date): string {
  return normaliseGoTime(d.toISOString());
}

/**
 * helm's urlutil.URLJoin: the file name joined onto the base URL's (decoded) path, which Go then
 * escapes as a whole (net/url, path mode: `%`, space, `#`, `?`, `!`… become `%XX`). The URL's
 * own setter would leave `%` and `!'()*` alone, giving URLs that differ from helm's — and with a
 * raw `%`, ones no client can fetch.
 */
export function joinUrl(base: string, file: string): string {
  let u: URL;
  try {
    u = new URL(base);
  } catch {
    // A relative base (`--url charts`, `--url /charts`): Go parses it as a path, and joins and
    // escapes it the same way.
    const path = /[?#]/.test(base) ? undefined : decodePath(base);
    return path === undefined ? posix.join(base, file) : relativeUrl(posix.join(path, file));
  }
  const path = decodePath(u.pathname);
  // Go's url.Parse refuses a malformed escape; URLJoin then falls back to a plain path join.
  if (path === undefined) return posix.join(base, file);
  u.pathname = escapeGoPath(posix.join(path || '/', file));
  return u.toString();
}

/**
 * A path relative to the repository, as `helm repo index` writes the URL of an archive in a
 * subdirectory without `--url` (URLJoin onto an empty base): escaped, with `./` before a first
 * segment holding a colon (Go's URL.String, so that it does not read as a scheme).
 */
export function relativeUrl(path: string): string {
  const escaped = escapeGoPath(posix.normalize(path));
  return escaped.split('/', 1)[0]?.includes(':') ? `./${escaped}` : escaped;
}

function decodePath(path: string): string | undefined {
  try {
    return decodeURIComponent(path);
  } catch {
    return undefined;
  }
}

/** Go's net/url escaping of a path: unreserved characters and `$&+,/:;=@` stay, the rest is %XX. */
function escapeGoPath(path: string): string {
  let out = '';
  for (const byte of Buffer.from(path, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-_.~$&+,/:;=@]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** index.yaml bytes. */
export function marshalIndex(index: IndexFile): Buffer {
  const entries: { [name: string]: EmitValue } = Object.create(null);
  for (const [name, list] of Object.entries(index.entries)) {
    entries[name] = list.map((e) => ({
      ...encodeStruct(e.metadata as Decoded, METADATA),
      urls: e.urls,
      created: e.created,
      digest: e.digest,
    }));
  }
  return Buffer.from(
    emitGoYaml({ apiVersion: index.apiVersion, entries, generated: index.generated }, { memo: ENTRY_TEXTS }),
    'utf8',
  );
}

// Each publication rewrites its repo's whole index: its entries (versions) are emitted once and
// then reused by their content's hash. ~1 KiB each; 5,000 cover a hundred busy repos.
const ENTRY_TEXTS: ItemMemo = {
  key: (item) =>
    'digest' in item && 'urls' in item
      ? createHash('sha256').update(JSON.stringify(item, nonFinite)).digest('base64')
      : undefined,
  texts: new Map(),
  max: 5_000,
};

// JSON writes NaN and ±Infinity as null; the YAML does not.
function nonFinite(_key: string, v: unknown): unknown {
  return typeof v === 'number' && !Number.isFinite(v) ? `number:${v}` : v;
}

/** `helm repo index <dir>`: every `*.tgz` in `dir` and its direct subdirectories. */
export async function indexDirectory(
  dir: string,
  opts: { baseUrl?: string; generated?: Date } = {},
): Promise<IndexFile> {
  const inputs: IndexInput[] = [];
  for (const rel of await archivesIn(dir)) {
    const data = await readArchive(join(dir, rel));
    const chart = data && (await loadChartArchive(data, rel).catch(() => undefined));
    if (!chart) continue; // like helm: an archive that is not a chart is not indexed
    const digest = createHash('sha256').update(data).digest('hex');
    // helm writes a top-level archive's name as it is, one in a subdirectory as a URL
    const fileName = opts.baseUrl || !rel.includes('/') ? rel : relativeUrl(rel);
    inputs.push({ metadata: chart.metadata, fileName, digest });
  }
  return buildIndex(inputs, opts);
}

/**
 * No chart compresses to more than this: its files decompress to at most
 * MAX_DECOMPRESSED_CHART_SIZE, and tar headers compress to little (gzip adds well under 1%).
 */
const MAX_ARCHIVE_BYTES = 2 * MAX_DECOMPRESSED_CHART_SIZE;

/**
 * The archive's bytes, or undefined for a file too large to be a chart or unreadable: it is skipped like any
 * other `.tgz` that is not a chart (as helm skips it), without reading it into memory — a
 * disk image or a backup named `.tgz` made the whole command fail (over 2 GiB) or took its size in memory.
 */
async function readArchive(path: string): Promise<Buffer | undefined> {
  try {
    const { size } = await stat(path);
    return size > MAX_ARCHIVE_BYTES ? undefined : await readFile(path);
  } catch {
    // unreadable (a link to a device, a file gone or locked): not a chart, as helm judges it
    return undefined;
  }
}

async function archivesIn(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const kind = await kindOf(dir, e);
    if (kind === 'file' && e.name.endsWith('.tgz')) out.push(e.name);
    else if (kind === 'dir') {
      for (const f of await readdir(join(dir, e.name), { withFileTypes: true })) {
        if (f.name.endsWith('.tgz') && (await kindOf(join(dir, e.name), f)) === 'file')
          out.push(`${e.name}/${f.name}`);
      }
    }
  }
  return out.sort(compareBytes);
}

/**
 * A directory entry's kind, symbolic links followed: helm's glob matches links to archives and
 * to directories like the things they point to (this is the user's own directory, named on the
 * command line). A dangling or looping link is neither, and is skipped as helm skips it.
 */
async function kindOf(dir: string, e: Dirent): Promise<'file' | 'dir' | undefined> {
  const s = e.isSymbolicLink() ? await stat(join(dir, e.name)).catch(() => undefined) : e;
  if (s?.isFile()) return 'file';
  return s?.isDirectory() ? 'dir' : undefined;
}

/** Writes `index.yaml` into `dir` atomically (storage/atomic-file.ts: temp file, fsync, rename). */
export async function writeIndexFile(dir: string, index: IndexFile): Promise<string> {
  const dest = join(dir, 'index.yaml');
  await writeFileAtomic(dest, marshalIndex(index));
  return dest;
}
