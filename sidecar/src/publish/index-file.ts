/**
 * The local publisher's view of a repository `index.yaml`: the list of published versions it
 * was built from. Reading parses helm's format back into the engine's index inputs; writing goes
 * through the engine's `buildIndex` + `marshalIndex`, so the file is what `helm repo index`
 * writes (newest first by SemVer, Go's key order and time format).
 */
import { parse } from 'yaml';
import { buildIndex, type IndexInput, marshalIndex } from '../chart/index.js';
import type { ChartMetadata } from '../chart/model.js';

interface RawEntry extends Partial<ChartMetadata> {
  urls?: string[];
  digest?: string;
  created?: string;
}

export function parseIndex(text: string, source: string): IndexInput[] {
  const doc = parse(text) as { entries?: Record<string, RawEntry[]> } | null;
  if (!doc || typeof doc !== 'object' || (doc.entries !== undefined && typeof doc.entries !== 'object')) {
    throw new Error(`${source} is not a chart repository index`);
  }
  return Object.values(doc.entries ?? {})
    .flat()
    .map(({ urls, digest, created, ...metadata }) => ({
      metadata: metadata as ChartMetadata,
      fileName: urls?.[0] ?? `${metadata.name}-${metadata.version}.tgz`,
      digest: digest ?? '',
      ...(created ? { created: new Date(created) } : {}),
    }));
}

export function withEntry(index: IndexInput[], entry: IndexInput): IndexInput[] {
  return [...withoutVersion(index, entry.metadata.name, entry.metadata.version), entry];
}

export function withoutVersion(index: IndexInput[], name: string, version: string): IndexInput[] {
  return index.filter((e) => e.metadata.name !== name || e.metadata.version !== version);
}

export function serializeIndex(index: IndexInput[], generated = new Date()): Buffer {
  return marshalIndex(buildIndex(index, { generated }));
}
