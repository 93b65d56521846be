/**
 * A lean reader for index.yaml in the block layout helm, ChartMuseum and `helm repo index`
 * write. Public indexes are large (tens of MiB, hundreds of thousands of lines): building a full
 * YAML document of one takes seconds and over a GiB of memory, while resolution needs four
 * fields per entry. This scanner reads only `apiVersion` and, per entry, `name`, `type`, `version`,
 * `urls` and `digest`, skipping every deeper line. Anything outside the layout it understands (flow style,
 * anchors, tags, block scalars or multi-line values for the fields it reads, odd indentation)
 * makes it return undefined, and the caller parses the document in full instead.
 */

export interface ScannedEntry {
  name?: string;
  type?: string;
  version?: string;
  urls: string[];
  digest?: string;
}

export interface ScannedIndex {
  apiVersion: string;
  entries: Map<string, ScannedEntry[]>;
}

class Unsupported extends Error {}

interface Line {
  indent: number;
  /** The content after the indentation, comments not stripped. */
  text: string;
}

function* lines(text: string): Generator<Line> {
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const raw = text.slice(start, end).replace(/\r$/, '');
    start = end + 1;
    const text2 = raw.trimStart();
    if (text2 === '' || text2.startsWith('#')) continue;
    const indent = raw.length - text2.length;
    if (raw.slice(0, indent).includes('\t')) throw new Unsupported();
    yield { indent, text: text2 };
  }
}

const nonString =
  /^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|0x[0-9a-fA-F]+|0o[0-7]+|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)|null|Null|NULL|~|true|True|TRUE|false|False|FALSE)$/;

const plainKey = /^([A-Za-z0-9_][A-Za-z0-9_.\-/]*):(?:\s+(.*))?$/;

/** A scalar on one line: plain, or single/double quoted without escapes we cannot read. */
function scalar(raw: string | undefined): string {
  const trimmed = (raw ?? '').trim();
  const quoted = /^("(?:[^"\\]|\\["\\/])*"|'(?:[^']|'')*')(?:\s+#.*)?$/.exec(trimmed)?.[1];
  if (quoted?.startsWith('"')) return JSON.parse(quoted) as string;
  if (quoted) return quoted.slice(1, -1).replace(/''/g, "'");
  if (/^["']/.test(trimmed)) throw new Unsupported();
  const value = stripComment(trimmed);
  if (value === '') throw new Unsupported();
  // Indicators that change the meaning of a plain scalar (flow, anchors, tags, blocks…), and
  // plain scalars YAML reads as numbers, booleans or null: the full parser decides those.
  if (/^[[\]{}&*!|>%@`,?:-]/.test(value)) throw new Unsupported();
  if (nonString.test(value)) throw new Unsupported();
  return value;
}

function stripComment(value: string): string {
  const hash = value.search(/\s#/);
  return hash < 0 ? value : value.slice(0, hash).trimEnd();
}

/**
 * A key met twice in one mapping: YAML forbids it and helm refuses the whole index ("key already
 * set in map"); the full parser reports it, where this reader would silently keep the last one.
 */
function once(seen: Set<string>, key: string): void {
  if (seen.has(key)) throw new Unsupported();
  seen.add(key);
}

/** Returns the index, or undefined when the document is not in the layout this reader knows. */
export function scanIndex(text: string): ScannedIndex | undefined {
  try {
    return scan(text);
  } catch (err) {
    if (err instanceof Unsupported) return undefined;
    throw err;
  }
}

function scan(text: string): ScannedIndex {
  const it = lines(text.replace(/^\uFEFF/, ''));
  let apiVersion: string | undefined;
  const entries = new Map<string, ScannedEntry[]>();
  let line = it.next();
  if (!line.done && line.value.text === '---') line = it.next();
  const seen = new Set<string>();
  while (!line.done) {
    const { indent, text: t } = line.value;
    if (indent !== 0) throw new Unsupported();
    const m = plainKey.exec(t);
    if (!m) throw new Unsupported();
    once(seen, m[1] as string);
    if (m[1] === 'apiVersion') apiVersion = scalar(m[2]);
    if (m[1] === 'entries') {
      if (m[2] !== undefined && stripComment(m[2]) !== '') throw new Unsupported();
      line = scanEntries(it, entries);
      continue;
    }
    line = skipDeeper(it, 0);
  }
  if (!apiVersion) throw new Unsupported();
  return { apiVersion, entries };
}

type Next = IteratorResult<Line, undefined>;

/** Skips lines indented deeper than `indent`; returns the first one that is not. */
function skipDeeper(it: Generator<Line>, indent: number): Next {
  let line = it.next();
  while (!line.done && line.value.indent > indent) line = it.next();
  return line as Next;
}

function scanEntries(it: Generator<Line>, entries: Map<string, ScannedEntry[]>): Next {
  let line = it.next() as Next;
  const chartIndent = line.done ? 0 : line.value.indent;
  while (!line.done && line.value.indent > 0) {
    if (line.value.indent !== chartIndent) throw new Unsupported();
    const m = plainKey.exec(line.value.text);
    if (!m || (m[2] !== undefined && stripComment(m[2]) !== '')) throw new Unsupported();
    const list: ScannedEntry[] = [];
    if (entries.has(m[1] as string)) throw new Unsupported();
    entries.set(m[1] as string, list);
    line = scanVersions(it, chartIndent, list);
  }
  return line;
}

/** The `- ` items of one chart; sequences may sit at the key's indentation (go-yaml) or deeper. */
function scanVersions(it: Generator<Line>, chartIndent: number, list: ScannedEntry[]): Next {
  let line = it.next() as Next;
  if (line.done || !line.value.text.startsWith('- ') || line.value.indent < chartIndent) return line;
  const itemIndent = line.value.indent;
  while (!line.done && line.value.indent === itemIndent && line.value.text.startsWith('- ')) {
    const entry: ScannedEntry = { urls: [] };
    list.push(entry);
    const first = line.value.text.slice(2).trimStart();
    const fieldIndent = itemIndent + (line.value.text.length - first.length);
    line = scanFields(it, { indent: fieldIndent, text: first }, fieldIndent, entry);
  }
  if (!line.done && line.value.indent > chartIndent) throw new Unsupported();
  return line;
}

function scanFields(it: Generator<Line>, first: Line, fieldIndent: number, entry: ScannedEntry): Next {
  let current: Line | undefined = first;
  let line: Next = { done: false, value: first };
  const seen = new Set<string>();
  while (current && current.indent === fieldIndent) {
    const m = plainKey.exec(current.text);
    if (!m) throw new Unsupported();
    const [, key, value] = m;
    once(seen, key as string);
    if (key === 'name') entry.name = scalar(value);
    if (key === 'type') entry.type = scalar(value);
    if (key === 'version') entry.version = scalar(value);
    if (key === 'digest') entry.digest = scalar(value);
    if (key === 'urls') {
      if (value !== undefined && stripComment(value) !== '') throw new Unsupported();
      line = scanUrls(it, fieldIndent, entry.urls);
    } else {
      line = skipValue(it, fieldIndent);
    }
    current = line.done ? undefined : line.value;
  }
  if (current && current.indent > fieldIndent) throw new Unsupported();
  return line;
}

/** Skips a field's value: deeper lines, and a sequence written at the key's own indentation. */
function skipValue(it: Generator<Line>, fieldIndent: number): Next {
  let line = it.next() as Next;
  while (!line.done && (line.value.indent > fieldIndent || isItemAt(line.value, fieldIndent)))
    line = it.next() as Next;
  return line;
}

function isItemAt(line: Line, indent: number): boolean {
  return line.indent === indent && (line.text === '-' || line.text.startsWith('- '));
}

function scanUrls(it: Generator<Line>, fieldIndent: number, urls: string[]): Next {
  let line = it.next() as Next;
  while (!line.done && line.value.indent >= fieldIndent && line.value.text.startsWith('- ')) {
    urls.push(scalar(line.value.text.slice(2)));
    line = it.next() as Next;
  }
  if (!line.done && line.value.indent > fieldIndent) throw new Unsupported();
  return line;
}
