/**
 * Compares two chart archives the way conformance is defined: the same set of files, every
 * file byte-identical except Chart.yaml, which must decode (with helm's YAML rules) to the
 * same data. Entry order, modes, owners and times are not compared: helm writes subcharts in
 * random order and stamps entries with the clock. A path may be written more than once (two
 * subchart directories whose Chart.yaml give the same name both land in `charts/<name>/`, in
 * helm's random order), so each path's entries are compared as a multiset, not last one wins.
 */
import { isDeepStrictEqual } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { Parser, type ReadEntry } from 'tar';
import { MAX_DECOMPRESSED_CHART_SIZE } from './limits.js';
import { parseGoYaml } from './yaml.js';

export interface ArchiveDifference {
  file: string;
  problem: string;
}

/** Every entry of a gzipped tar: path -> content (non-files map to their type); a path written twice keeps its last entry, as extracting it would. */
export function listArchive(data: Buffer): Map<string, Buffer | string> {
  const entries = new Map<string, Buffer | string>();
  for (const [path, contents] of listArchiveEntries(data))
    entries.set(path, contents.at(-1) as Buffer | string);
  return entries;
}

/** Every entry of a gzipped tar: path -> the contents of each entry with that path, in archive order. */
export function listArchiveEntries(data: Buffer): Map<string, (Buffer | string)[]> {
  const entries = new Map<string, (Buffer | string)[]>();
  const add = (path: string, content: Buffer | string) => {
    const list = entries.get(path);
    if (list) list.push(content);
    else entries.set(path, [content]);
  };
  const parser = new Parser({ strict: true });
  parser.on('entry', (entry: ReadEntry) => {
    if (entry.type !== 'File' && entry.type !== 'OldFile') {
      add(entry.path, entry.type);
      return void entry.resume();
    }
    const chunks: Buffer[] = [];
    entry.on('data', (c: Buffer) => chunks.push(c));
    entry.on('end', () => add(entry.path, Buffer.concat(chunks)));
  });
  parser.end(gunzipSync(data, { maxOutputLength: MAX_DECOMPRESSED_CHART_SIZE * 2 }));
  return entries;
}

export interface CompareOptions {
  /** Also require Chart.yaml to be byte-identical (chartsync re-marshals it as helm does). */
  exactChartYaml?: boolean;
  /**
   * Compare Chart.lock / requirements.lock as data without `generated`: helm stamps that field
   * with the clock on every `helm dependency update`, so two correct packages differ there.
   */
  lockAsData?: boolean;
}

const LOCK_FILE = /(^|\/)(Chart|requirements)\.lock$/;

/** Differences between a reference archive (`expected`, e.g. from helm) and `actual`. */
export function compareArchives(
  expected: Buffer,
  actual: Buffer,
  opts: CompareOptions = {},
): ArchiveDifference[] {
  const want = listArchiveEntries(expected);
  const got = listArchiveEntries(actual);
  const diffs: ArchiveDifference[] = [];
  for (const name of want.keys()) if (!got.has(name)) diffs.push({ file: name, problem: 'missing' });
  for (const name of got.keys()) if (!want.has(name)) diffs.push({ file: name, problem: 'unexpected' });
  for (const [name, a] of want) {
    const b = got.get(name);
    if (b === undefined) continue;
    const problem =
      a.length !== b.length
        ? `written ${a.length} times vs ${b.length} times`
        : compareEntries(name, a, b, opts);
    if (problem) diffs.push({ file: name, problem });
  }
  return diffs.sort((x, y) => (x.file < y.file ? -1 : x.file > y.file ? 1 : 0));
}

/**
 * The entries one path was written with, as multisets: helm's order among them is random, so
 * both lists are sorted by content before they are paired (one entry, the usual case, is
 * compared as is).
 */
function compareEntries(
  name: string,
  a: (Buffer | string)[],
  b: (Buffer | string)[],
  opts: CompareOptions,
): string | undefined {
  if (a.length === 1) return compareEntry(name, a[0] as Buffer | string, b[0] as Buffer | string, opts);
  const sorted = (list: (Buffer | string)[]) => [...list].sort(byContent);
  const [x, y] = [sorted(a), sorted(b)];
  for (let i = 0; i < x.length; i++) {
    const problem = compareEntry(name, x[i] as Buffer | string, y[i] as Buffer | string, opts);
    if (problem) return `entry ${i + 1} of ${x.length} (by content): ${problem}`;
  }
  return undefined;
}

function byContent(p: Buffer | string, q: Buffer | string): number {
  if (typeof p === 'string' || typeof q === 'string')
    return String(p) < String(q) ? -1 : String(p) > String(q) ? 1 : 0;
  return Buffer.compare(p, q);
}

function compareEntry(
  name: string,
  a: Buffer | string,
  b: Buffer | string,
  opts: CompareOptions,
): string | undefined {
  if (typeof a === 'string' || typeof b === 'string') {
    return a === b ? undefined : `entry type differs (${describe(a)} vs ${describe(b)})`;
  }
  if (a.equals(b)) return undefined;
  if (name.endsWith('/Chart.yaml') && !opts.exactChartYaml) {
    const x = parseGoYaml(a.toString('utf8'), name);
    const y = parseGoYaml(b.toString('utf8'), name);
    return isDeepStrictEqual(x, y) ? undefined : `Chart.yaml data differs:\n${firstDifference(x, y)}`;
  }
  if (opts.lockAsData && LOCK_FILE.test(name)) {
    const x = withoutGenerated(parseGoYaml(a.toString('utf8'), name));
    const y = withoutGenerated(parseGoYaml(b.toString('utf8'), name));
    return isDeepStrictEqual(x, y) ? undefined : `lock data differs:\n${firstDifference(x, y)}`;
  }
  return `content differs (${a.length} vs ${b.length} bytes)${firstLineDiff(a, b)}`;
}

function withoutGenerated(doc: unknown): unknown {
  if (!doc || typeof doc !== 'object') return doc;
  const { generated: _clock, ...rest } = doc as Record<string, unknown>;
  return rest;
}

function describe(v: Buffer | string): string {
  return typeof v === 'string' ? v : 'File';
}

function firstDifference(x: unknown, y: unknown): string {
  const show = (v: unknown) => JSON.stringify(v, (_k, val) => (typeof val === 'bigint' ? `${val}n` : val));
  return `  expected ${show(x)}\n  actual   ${show(y)}`;
}

function firstLineDiff(a: Buffer, b: Buffer): string {
  const la = a.toString('utf8').split('\n');
  const lb = b.toString('utf8').split('\n');
  for (let i = 0; i < Math.max(la.length, lb.length); i++) {
    if (la[i] !== lb[i])
      return `; first difference at line ${i + 1}: ${JSON.stringify(la[i])} vs ${JSON.stringify(lb[i])}`;
  }
  return '';
}
