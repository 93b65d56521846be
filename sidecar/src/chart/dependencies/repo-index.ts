/**
 * A chart repository's index.yaml: parsed as helm's repo.LoadIndexFile reads it (invalid
 * entries skipped, versions newest first), the version choice helm's resolver makes (the
 * highest version satisfying the constraint, among entries that have URLs), and the archive
 * URL of an entry, which must stay an http(s) URL: an index is remote input.
 */
import { posix } from 'node:path';
import { parse } from 'yaml';
import { type ChartVersion, compareVersions, toVersion } from '../version.js';
import { type Constraint, satisfies } from './constraint.js';
import { scanIndex } from './index-scan.js';

export interface IndexEntry {
  name: string;
  /** As written in the index: helm locks this exact text. */
  version: string;
  parsed: ChartVersion;
  urls: string[];
  /** sha256 (hex) of the archive, when the index carries one. */
  digest?: string;
}

export interface RepoIndex {
  /** Per chart name, usable entries, newest first. */
  entries: Map<string, IndexEntry[]>;
}

export class IndexError extends Error {
  override name = 'IndexError';
}

/**
 * One index entry, or undefined when helm would skip it: helm's loader validates each entry's
 * metadata and drops (with a warning) those without a name, with a name holding a path
 * separator, without a SemVer version, or of a type other than application or library.
 */
function toEntry(name: string, raw: unknown): IndexEntry | undefined {
  if (!raw || typeof raw !== 'object') return undefined;
  const r = raw as Record<string, unknown>;
  if (typeof r.name !== 'string' || r.name === '' || r.name.includes('/')) return undefined;
  if (r.type !== undefined && r.type !== '' && r.type !== 'application' && r.type !== 'library')
    return undefined;
  const version = typeof r.version === 'string' ? r.version : undefined;
  const parsed = version === undefined ? undefined : toVersion(version);
  if (!version || !parsed) return undefined;
  const urls = Array.isArray(r.urls)
    ? r.urls.filter((u): u is string => typeof u === 'string' && u !== '')
    : [];
  const digest = typeof r.digest === 'string' && r.digest !== '' ? r.digest : undefined;
  return { name, version, parsed, urls, ...(digest ? { digest } : {}) };
}

/** Parses index.yaml (or its JSON form); `source` names it in errors. */
export function parseIndex(data: Buffer, source: string): RepoIndex {
  const text = data.toString('utf8');
  const scanned = scanIndex(text);
  if (scanned) return fromEntries(scanned.entries);
  return parseFullIndex(text, source);
}

/** The general path: a full YAML parse, for indexes outside the layout `scanIndex` reads. */
export function parseFullIndex(text: string, source: string): RepoIndex {
  let doc = parseJson(text);
  if (doc === undefined) {
    try {
      doc = parse(text, { maxAliasCount: 100 });
    } catch (err) {
      // First line only: the rest quotes the document, which may be anything a server sent.
      const reason = (err as Error).message.split('\n')[0];
      throw new IndexError(`${source}: invalid index.yaml: ${reason}`);
    }
  }
  if (!doc || typeof doc !== 'object')
    throw new IndexError(`${source}: index.yaml is empty or not a mapping`);
  const { apiVersion, entries } = doc as { apiVersion?: unknown; entries?: unknown };
  if (!apiVersion) throw new IndexError(`${source}: index.yaml has no apiVersion`);
  const lists = Object.entries(entries && typeof entries === 'object' ? entries : {});
  return fromEntries(lists.map(([name, list]) => [name, Array.isArray(list) ? list : []]));
}

/**
 * An index in JSON (`helm repo index --json` writes one; JSON is YAML too), read as JSON:
 * the YAML parser builds a document tree that takes ~60 times the text's size (a 17 MiB index:
 * over 1 GiB, more than a build thread may hold, so resolution died), JSON.parse a fraction of
 * it. Undefined when the text is not strict JSON: the YAML parser then reads it (or reports it).
 * Unlike YAML, JSON.parse keeps the last of two equal keys where helm refuses the index.
 */
function parseJson(text: string): unknown {
  if (!/^\uFEFF?\s*\{/.test(text)) return undefined;
  try {
    return JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch {
    return undefined;
  }
}

function fromEntries(lists: Iterable<[string, unknown[]]>): RepoIndex {
  const result = new Map<string, IndexEntry[]>();
  for (const [name, list] of lists) {
    const usable = list.flatMap((raw) => toEntry(name, raw) ?? []);
    result.set(
      name,
      usable.sort((a, b) => compareVersions(b.parsed, a.parsed)),
    );
  }
  return { entries: result };
}

/** The highest version satisfying `constraint`, as helm's resolver picks it. */
export function chooseVersion(
  index: RepoIndex,
  name: string,
  constraint: Constraint,
): IndexEntry | undefined {
  return index.entries.get(name)?.find((e) => e.urls.length > 0 && satisfies(e.parsed, constraint));
}

/** The entry with exactly this version (by SemVer equality), as a Chart.lock pins it. */
export function findVersion(index: RepoIndex, name: string, version: string): IndexEntry | undefined {
  const wanted = toVersion(version);
  return index.entries
    .get(name)
    ?.find(
      (e) => e.urls.length > 0 && (wanted ? compareVersions(e.parsed, wanted) === 0 : e.version === version),
    );
}

/** Versions listed for a chart, for error messages. */
export function availableVersions(index: RepoIndex, name: string, max = 10): string {
  const versions = (index.entries.get(name) ?? []).map((e) => e.version);
  if (versions.length === 0) return 'none';
  return versions.length > max ? `${versions.slice(0, max).join(', ')}, …` : versions.join(', ');
}

const hasScheme = /^[a-zA-Z][a-zA-Z0-9+.-]*:/;

function hasDotDotSegment(path: string): boolean {
  return path.split(/[/\\]/).some((seg) => {
    try {
      return decodeURIComponent(seg) === '..';
    } catch {
      return true;
    }
  });
}

/**
 * The download URL of `entry.urls[0]`, resolved like helm (a relative URL is joined to the
 * repository URL's path and takes the repository URL's query, when it has one). Refuses other
 * schemes (`file://`…) and `..` segments.
 */
export function archiveUrl(repoUrl: string, entry: IndexEntry): string {
  const raw = entry.urls[0] ?? '';
  const problem = `index entry ${entry.name} ${entry.version} has a refused URL '${raw}'`;
  if (hasScheme.test(raw)) {
    if (!/^https?:\/\//i.test(raw)) throw new IndexError(`${problem}: only http(s) URLs are allowed`);
    if (hasDotDotSegment(raw.replace(/^https?:\/\/[^/]*/i, '').split(/[?#]/)[0] ?? '')) {
      throw new IndexError(`${problem}: '..' path segments are not allowed`);
    }
    return new URL(raw).href;
  }
  const [path = '', query] = raw.split('?', 2);
  if (hasDotDotSegment(path)) throw new IndexError(`${problem}: '..' path segments are not allowed`);
  const base = new URL(repoUrl);
  base.pathname = posix.join(base.pathname, path);
  // helm's ResolveReferenceURL: the repository URL's query (a token) goes with its archives too
  if (!base.search) base.search = query ? `?${query}` : '';
  base.hash = '';
  return base.href;
}
