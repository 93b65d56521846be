/**
 * A repository `index.yaml` as helm writes it (`helm repo index`): `apiVersion: v1`, `entries`
 * by chart name with versions newest-first by SemVer, relative `urls`, `digest`, `created`, and
 * `generated`; keys sorted as Go's YAML marshaller sorts them. Pure data in, text out.
 */
import semver from 'semver';
import { parse, stringify } from 'yaml';
import type { ChartMetadata } from '../chart/model.js';

export interface IndexEntry extends ChartMetadata {
  urls: string[];
  digest: string;
  created: string;
}

export interface IndexFile {
  apiVersion: 'v1';
  entries: Record<string, IndexEntry[]>;
  generated: string;
}

export function emptyIndex(): IndexFile {
  return { apiVersion: 'v1', entries: {}, generated: new Date().toISOString() };
}

export function parseIndex(text: string, source: string): IndexFile {
  const doc = parse(text) as Partial<IndexFile> | null;
  if (!doc || typeof doc !== 'object' || (doc.entries !== undefined && typeof doc.entries !== 'object')) {
    throw new Error(`${source} is not a chart repository index`);
  }
  return {
    apiVersion: 'v1',
    entries: doc.entries ?? {},
    generated: doc.generated ?? new Date().toISOString(),
  };
}

export function withEntry(index: IndexFile, entry: IndexEntry): IndexFile {
  const others = (index.entries[entry.name] ?? []).filter((e) => e.version !== entry.version);
  return { ...index, entries: { ...index.entries, [entry.name]: sortVersions([...others, entry]) } };
}

export function withoutVersion(index: IndexFile, name: string, version: string): IndexFile {
  const kept = (index.entries[name] ?? []).filter((e) => e.version !== version);
  const entries = { ...index.entries };
  if (kept.length) entries[name] = kept;
  else delete entries[name];
  return { ...index, entries };
}

export function serializeIndex(index: IndexFile, now = new Date()): string {
  return stringify({ ...index, generated: now.toISOString() }, { sortMapEntries: true, lineWidth: 0 });
}

/** Newest first; versions that are not SemVer go last, in text order. */
function sortVersions(entries: IndexEntry[]): IndexEntry[] {
  return [...entries].sort((a, b) => {
    const va = semver.valid(a.version);
    const vb = semver.valid(b.version);
    if (va && vb) return semver.rcompare(va, vb);
    if (va) return -1;
    if (vb) return 1;
    return a.version.localeCompare(b.version);
  });
}
