/**
 * YAML reading for chart files. Helm reads YAML with go-yaml v2 (YAML 1.1 scalars: `yes`/`on`
 * are booleans, `0755` is octal, timestamps stay strings) through sigs.k8s.io/yaml; to package
 * charts exactly as helm does we resolve plain scalars with go-yaml v2's rules instead of the
 * YAML 1.2 core schema. Parsing is bounded: alias expansion is capped so a "billion laughs"
 * document fails fast, and every error names the file and line.
 */
import { load as loadYaml } from 'js-yaml';
import {
  CST,
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  Lexer,
  LineCounter,
  type Node,
  parseAllDocuments,
} from 'yaml';
import { GO_JSON_MAX_DEPTH } from './limits.js';
import { jsYamlMayDiffer } from './yaml-fast-path.js';
import { mayHoldOverlongKey, overlongKey } from './yaml-key-length.js';
import { BINARY_TAG, decodeGoBinary, TIMESTAMP_TAG } from './yaml-tags.js';

/** A value as go-yaml v2 decodes it into `interface{}`: integers stay distinct from floats. */
export type GoValue = string | boolean | null | bigint | number | GoValue[] | GoMap;
export interface GoMap {
  [key: string]: GoValue;
}

export class YamlError extends Error {
  readonly file: string;
  readonly line: number | undefined;
  readonly problem: string;
  constructor(file: string, line: number | undefined, problem: string) {
    super(`${file}${line ? `:${line}` : ''}: ${problem}`);
    this.name = 'YamlError';
    this.file = file;
    this.line = line;
    this.problem = problem;
  }
}

/** Upper bound on values produced while expanding aliases: real charts stay far below it. */
const MAX_EXPANDED_NODES = 250_000;
/**
 * Levels of nesting helm reads in values.yaml: it converts YAML to JSON, and Go's JSON decoder
 * stops at 10,000 (a document of 10,001 levels fails `helm package`).
 */
const MAX_DEPTH = GO_JSON_MAX_DEPTH;
/** Same default as the yaml library's own alias-bomb guard. */
const MAX_ALIAS_COUNT = 100;

/** Parses YAML (first document, like go-yaml's Unmarshal) into plain JS values (YAML 1.2 core schema). */
export function parseYaml(text: string, file: string): unknown {
  const { doc } = firstDocument(text, file, 'core');
  try {
    return doc ? doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) : null;
  } catch (err) {
    throw new YamlError(file, undefined, describe(err));
  }
}

/** Parses YAML the way go-yaml v2 decodes it into `interface{}` (first document; empty = null). */
export function parseGoYaml(text: string, file: string): GoValue {
  const { doc, lines } = firstDocument(text, file, 'failsafe');
  if (!doc) return null;
  const budget = { left: MAX_EXPANDED_NODES };
  try {
    return toGo(doc.contents as Node | null, doc, budget, file, lines);
  } catch (err) {
    if (err instanceof YamlError) throw err;
    throw new YamlError(file, undefined, describe(err));
  }
}

/**
 * Checks a document helm will decode into a map (values.yaml) without building it: syntax,
 * alias expansion size (computed, not performed) and the top-level kind. values.yaml files are
 * large and helm only needs them to parse, so valid documents take a fast path through js-yaml,
 * an order of magnitude faster than the `yaml` library (aliases come back as shared objects, so
 * a bomb costs nothing to load). Anything js-yaml rejects (custom tags, several documents, real
 * errors) gets the verdict of the go-yaml-compatible path instead.
 */
export function checkYamlDocument(text: string, file: string): 'map' | 'null' | 'other' {
  text = goYamlSource(text, file);
  const value = jsYamlMayDiffer(text) ? NOT_LOADED : fastLoad(text);
  if (value === NOT_LOADED) {
    // (js-yaml also stops at 100 levels of nesting)
    const go = parseGoYaml(text, file);
    checkDepth(shapeOf(go, new Map()), file);
    return kindOf(go);
  }
  const shape = shapeOf(value, new Map());
  if (shape.size > MAX_EXPANDED_NODES) {
    throw new YamlError(file, undefined, 'document expands to too many values (alias bomb?)');
  }
  // (aliases nest deeper than js-yaml's own 100-level parse limit: *b holding *a holding ...)
  checkDepth(shape, file);
  if (value === null || value === undefined) return 'null';
  return typeof value === 'object' && !Array.isArray(value) && !(value instanceof Date) ? 'map' : 'other';
}

const NOT_LOADED = Symbol('not loaded');
function fastLoad(text: string): unknown {
  try {
    return loadYaml(text.replace(/^\uFEFF/, ''), { json: true });
  } catch {
    return NOT_LOADED;
  }
}

function kindOf(value: GoValue): 'map' | 'null' | 'other' {
  if (value === null) return 'null';
  return typeof value === 'object' && !Array.isArray(value) ? 'map' : 'other';
}

const TOO_DEEP = `values nested deeper than ${MAX_DEPTH} levels (helm's limit)`;

function checkDepth(shape: Shape, file: string): void {
  if (shape.depth > MAX_DEPTH) throw new YamlError(file, undefined, TOO_DEEP);
}

/**
 * Whether brackets (`[`, `{`) nest deeper than `limit` in `text`: one pass, no parse. Block
 * nesting needs no such pass (its indentation makes 10,000 levels ~50 MB, past the file cap).
 * Every bracket counts, in quoted scalars and comments too: any rule about where a flow
 * collection may start (after a tag, an anchor, a quote that is or is not one) is a way to hide
 * one from this pass. A document with over 10,000 unclosed brackets in its text is refused.
 */
export function flowNestingOver(text: string, limit: number): boolean {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return true;
    } else if ((c === 0x5d || c === 0x7d) && depth > 0) depth--;
  }
  return false;
}

interface Shape {
  /** Values the document expands to (aliases expanded), capped at MAX_EXPANDED_NODES + 1. */
  size: number;
  /** Levels of maps and lists (the document's own counts 1). */
  depth: number;
}

const SCALAR: Shape = { size: 1, depth: 0 };
/** What a cycle counts as: past both limits. */
const UNBOUNDED: Shape = { size: MAX_EXPANDED_NODES + 1, depth: MAX_DEPTH + 1 };

/** The size and depth of `value`, in one walk memoised per (shared) object. */
function shapeOf(value: unknown, memo: Map<object, Shape>): Shape {
  if (value === null || typeof value !== 'object') return SCALAR;
  const known = memo.get(value);
  if (known !== undefined) return known;
  memo.set(value, UNBOUNDED);
  const isList = Array.isArray(value);
  let size = 1;
  let deepest = 0;
  for (const child of isList ? value : Object.values(value)) {
    const s = shapeOf(child, memo);
    size = Math.min(size + s.size + (isList ? 0 : 1), MAX_EXPANDED_NODES + 1);
    deepest = Math.max(deepest, s.depth);
  }
  const shape = { size, depth: deepest + 1 };
  memo.set(value, shape);
  return shape;
}

type Doc = ReturnType<typeof parseAllDocuments>[number];

/**
 * go-yaml v2's reader: the characters it accepts in a YAML stream; the others (C0 controls but
 * tab and line breaks, DEL, C1 controls but NEL, U+FFFE/U+FFFF) fail the file, in comments too.
 * The yaml library reads them as text, so a form feed in values.yaml would package where helm
 * refuses the chart.
 */
const GO_YAML_REFUSED = /[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/u;

/**
 * Escapes of go-yaml v2's double-quoted scalars, which are not YAML 1.2's: `\'` is one (the
 * yaml library refuses it), `\/` is not (the yaml library reads a slash).
 */
const GO_ESCAPES = new Set('0abt\tnvfre "\'\\N_LP');
const HEX_ESCAPES: Record<string, number> = { x: 2, u: 4, U: 8 };
/**
 * Backslash sequences a double-quoted scalar reads otherwise in go-yaml than in YAML 1.2: `\/`
 * and `\'` (each reads one the other refuses), `\u` surrogates and `\U` (go-yaml refuses those
 * past U+10FFFF). Every other escape means the same to both, or fails both.
 */
const DIFFERING_ESCAPE = /\\(?:[/']|u[dD][89a-fA-F]|U)/;
/** Lexer tokens that mark structure without standing for source text. */
const NOT_SOURCE = new Set(['doc-mode', 'flow-error-end', 'scalar']);
/** Source tokens that are no content of a document. */
const NOT_CONTENT = new Set([
  'byte-order-mark',
  'directive-line',
  'doc-start',
  'comment',
  'newline',
  'space',
]);

/**
 * The first document's text as go-yaml v2 reads it, or a YamlError where go-yaml fails: its
 * line breaks, its reader's characters, its escapes (unknown ones, surrogates and code points past U+10FFFF
 * refused), and `\'` rewritten as `'` so that the yaml library reads what go-yaml reads. Only
 * the first document counts: helm decodes no other.
 */
function goYamlSource(text: string, file: string): string {
  // NEL is a line break to go-yaml (YAML 1.1), read as \n wherever it ends a line (a comment, a
  // scalar, a block scalar's line); YAML 1.2 made it an ordinary character. LS and PS (U+2028,
  // U+2029) break lines too, but go-yaml keeps them in a quoted scalar's content where a \n
  // folds to a space: free-text fields are sanitised to the same space, an annotation or
  // import-values string is not (`"p<PS>q"` stays so in helm, becomes "p q" here; not handled).
  text = text.replace(/[\u0085\u2028\u2029]/g, '\n');
  const end = firstDocumentEnd(text);
  if (/^%/m.test(text)) checkDirectives(text.slice(0, end), file);
  // (parsed only when nested within helm's limit: deeper is refused before any parse)
  const first = text.slice(0, end);
  const overlong =
    mayHoldOverlongKey(first) && !flowNestingOver(first, MAX_DEPTH) ? overlongKey(first) : undefined;
  if (overlong !== undefined)
    throw new YamlError(
      file,
      lineAt(text, overlong),
      "a mapping key longer than 1024 characters without '?': could not find expected ':'",
    );
  const refused = GO_YAML_REFUSED.exec(text.slice(0, readerReach(text, end)));
  if (refused) {
    const code = (refused[0].codePointAt(0) as number).toString(16).toUpperCase().padStart(4, '0');
    throw new YamlError(file, lineAt(text, refused.index), `control characters are not allowed (U+${code})`);
  }
  // the lexer costs ~5x a parse: run it only where go-yaml's escapes can read otherwise
  if (!DIFFERING_ESCAPE.test(text.slice(0, end))) return text;
  let out = '';
  let done = 0;
  for (const { token, type, offset } of sourceTokens(text)) {
    if (offset >= end) break;
    out += type === 'double-quoted-scalar' ? goEscapes(token, file, text, offset) : token;
    done = offset + token.length;
  }
  return out + text.slice(done);
}

/** The lexer's tokens that stand for source text, each with its type and offset in `text`. */
function* sourceTokens(text: string): Generator<{ token: string; type: string; offset: number }> {
  let offset = 0;
  for (const token of new Lexer().lex(text)) {
    const type = CST.tokenType(token) ?? '';
    if (NOT_SOURCE.has(type)) continue;
    yield { token, type, offset };
    offset += token.length;
  }
}

/** go-yaml v2 knows `%YAML 1.1` and `%TAG`; another version or directive fails the file. */
function checkDirectives(text: string, file: string): void {
  for (const { token, type, offset } of sourceTokens(text)) {
    if (type === 'directive-line' && !/^%TAG\s/.test(token) && !/^%YAML\s+1\.1$/.test(token.trim())) {
      const problem = /^%YAML\s/.test(token)
        ? 'found incompatible YAML document'
        : 'found unknown directive name';
      throw new YamlError(file, lineAt(text, offset), problem);
    }
  }
}

/** go-yaml's reader decodes its input, and checks every character, this many bytes at a time. */
const READER_CHUNK = 512;

/**
 * How far go-yaml's reader has decoded (and checked) the text when the first document ends at
 * `end`: the marker there and its lookahead, to the end of that 512-byte chunk. A form feed
 * just after a short first document fails helm; one 10 KB further on does not.
 */
function readerReach(text: string, end: number): number {
  if (end >= text.length) return text.length;
  const bytes = Buffer.from(text);
  const needed = Buffer.byteLength(text.slice(0, end + 4));
  const reached = Math.ceil(needed / READER_CHUNK) * READER_CHUNK;
  return reached >= bytes.length ? text.length : bytes.subarray(0, reached).toString('utf8').length;
}

/** Where the first document ends: at a `---` or `...` after its content (else the end). */
function firstDocumentEnd(text: string): number {
  let last = -1;
  for (const marker of text.matchAll(/^(---|\.\.\.)/gm)) last = marker.index;
  if (last < 0) return text.length;
  // Markers start lines of their own: if none up to the last one's line ended the first
  // document, nothing after it does. Lexed only that far (a leading `---`: one line, not the
  // whole file; the lexer costs ~5x a parse).
  const cut = text.indexOf('\n', last);
  const head = cut < 0 ? text : text.slice(0, cut + 1);
  let content = false;
  for (const { type, offset } of sourceTokens(head)) {
    if (type === 'doc-end' || (type === 'doc-start' && content)) return offset;
    if (!NOT_CONTENT.has(type)) content = true;
  }
  return text.length;
}

/** One double-quoted scalar's source, checked against go-yaml's escapes; `\'` becomes `'`. */
function goEscapes(source: string, file: string, text: string, offset: number): string {
  let out = '';
  for (let i = 0; i < source.length; i++) {
    const ch = source[i] as string;
    if (ch !== '\\') {
      out += ch;
      continue;
    }
    const next = source[i + 1] ?? '';
    const fail = (problem: string) => new YamlError(file, lineAt(text, offset + i), problem);
    const digits = HEX_ESCAPES[next];
    if (digits !== undefined) {
      const hex = source.slice(i + 2, i + 2 + digits);
      const code = /^[0-9a-fA-F]+$/.test(hex) && hex.length === digits ? Number.parseInt(hex, 16) : undefined;
      if (code === undefined) throw fail('did not find expected hexdecimal number');
      if ((code >= 0xd800 && code <= 0xdfff) || code > 0x10ffff)
        throw fail('found invalid Unicode character escape code');
    } else if (next !== '\n' && next !== '\r' && !GO_ESCAPES.has(next)) {
      throw fail('found unknown escape character');
    }
    // the escape (or an escaped line break) passes on as it is, but \' as the quote itself
    out += next === "'" ? "'" : `\\${next}`;
    i++;
  }
  return out;
}

function lineAt(text: string, index: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i !== -1 && i < index; i = text.indexOf('\n', i + 1)) line++;
  return line;
}

function parseFirst(text: string, schema: 'core' | 'failsafe'): { doc: Doc | undefined; lines: LineCounter } {
  const lines = new LineCounter();
  const parsed = parseAllDocuments(text.replace(/^\uFEFF/, ''), {
    schema,
    // !!binary and !!timestamp stay text: go-yaml's reading of them is yaml-tags.ts
    resolveKnownTags: schema !== 'failsafe',
    uniqueKeys: false,
    lineCounter: lines,
    prettyErrors: false,
    strict: false,
  });
  return { doc: [...parsed][0], lines };
}

/** Quoted scalars and flow collections one repair may re-indent; past it the parse error stands. */
const MAX_REINDENTS = 1000;

/**
 * go-yaml does not ask the continuation lines of a quoted scalar or of a flow collection to be
 * indented (`description: "a long` / `text"`, or `keywords: [` / `a,` / `b]` at column 0, are
 * valid to helm); YAML 1.2 does. Leading white space of those lines is not content in either,
 * so indenting them past the opening quote or bracket changes no value: done for each one the
 * lexer cuts short, until the text lexes whole. Line numbers stay. A continuation line starting
 * with `---` or `...` ends the document for go-yaml too.
 */
function indentContinuations(text: string): string {
  for (let round = 0; round < MAX_REINDENTS; round++) {
    const start = cutShort(text);
    if (start === undefined) return text;
    const end = text[start] === '[' || text[start] === '{' ? flowEnd(text, start) : quoteEnd(text, start);
    if (end === undefined) return text;
    const region = text.slice(start, end);
    if (/\n(---|\.\.\.)(\s|$)/.test(region)) return text;
    const pad = ' '.repeat(start - text.lastIndexOf('\n', start - 1));
    text = text.slice(0, start) + region.replaceAll('\n', `\n${pad}`) + text.slice(end);
  }
  return text;
}

/**
 * Where the first quoted scalar the lexer ends before its closing quote starts, or the
 * outermost flow collection it ends before its closing bracket.
 */
function cutShort(text: string): number | undefined {
  let offset = 0;
  const flows: number[] = [];
  for (const token of new Lexer().lex(text)) {
    const type = CST.tokenType(token) ?? '';
    const quoted = type === 'double-quoted-scalar' || type === 'single-quoted-scalar';
    if (quoted && quoteEnd(token, 0) === undefined) return offset;
    if (type === 'flow-error-end') return flows[0];
    if (type === 'flow-map-start' || type === 'flow-seq-start') flows.push(offset);
    if (type === 'flow-map-end' || type === 'flow-seq-end') flows.pop();
    if (!NOT_SOURCE.has(type)) offset += token.length;
  }
  return undefined;
}

/** The offset past the quote closing the quoted scalar opening at `start`, as go-yaml scans it. */
function quoteEnd(text: string, start: number): number | undefined {
  const quote = text[start];
  for (let i = start + 1; i < text.length; i++) {
    const ch = text[i];
    if (quote === '"' && ch === '\\') i++;
    else if (ch === quote && quote === "'" && text[i + 1] === "'") i++;
    else if (ch === quote) return i + 1;
  }
  return undefined;
}

/**
 * The offset past the bracket closing the flow collection opening at `start`: brackets counted
 * outside quoted scalars (a quote opens one after a bracket, comma or colon) and comments.
 */
function flowEnd(text: string, start: number): number | undefined {
  let depth = 0;
  let previous = '';
  for (let i = start; i < text.length; i++) {
    const ch = text[i] as string;
    if (ch === '[' || ch === '{') depth++;
    else if ((ch === ']' || ch === '}') && --depth === 0) return i + 1;
    else if ((ch === '"' || ch === "'") && '[{,:'.includes(previous)) {
      const end = quoteEnd(text, i);
      if (end === undefined) return undefined;
      i = end - 1;
    } else if (ch === '#' && /\s/.test(text[i - 1] ?? '')) {
      const eol = text.indexOf('\n', i);
      if (eol === -1) return undefined;
      i = eol;
    }
    if (!/\s/.test(ch)) previous = ch;
  }
  return undefined;
}

function firstDocument(
  text: string,
  file: string,
  schema: 'core' | 'failsafe',
): { doc: Doc | undefined; lines: LineCounter } {
  // before the parser, which recurses (and allocates) per level: a 2 MB document of a million
  // nested brackets took 13 s and 1.1 GB before failing on the stack
  if (flowNestingOver(text, MAX_DEPTH)) throw new YamlError(file, undefined, TOO_DEEP);
  text = goYamlSource(text, file);
  let parsed = parseFirst(text, schema);
  if (parsed.doc?.errors[0]) {
    const indented = indentContinuations(text);
    const again = indented === text ? undefined : parseFirst(indented, schema);
    if (again && !again.doc?.errors[0]) parsed = again;
  }
  const { doc, lines } = parsed;
  const error = doc?.errors[0];
  if (error) {
    throw new YamlError(
      file,
      lines.linePos(error.pos[0]).line,
      error.message.split('\n')[0] ?? error.message,
    );
  }
  return { doc, lines };
}

function describe(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  if (/alias/i.test(message)) return `too many aliases (possible alias bomb): ${message}`;
  return message;
}

function lineOf(node: Node | null | undefined, lines: LineCounter): number | undefined {
  const start = node?.range?.[0];
  return start === undefined ? undefined : lines.linePos(start).line;
}

function toGo(
  node: Node | null | undefined,
  doc: Doc,
  budget: { left: number },
  file: string,
  lines: LineCounter,
): GoValue {
  if (--budget.left < 0) {
    throw new YamlError(file, lineOf(node, lines), 'document expands to too many values (alias bomb?)');
  }
  if (node == null) return null;
  if (isAlias(node)) {
    const target = node.resolve(doc);
    if (!target) throw new YamlError(file, lineOf(node, lines), `unknown anchor ${node.source}`);
    return toGo(target as Node, doc, budget, file, lines);
  }
  if (isScalar(node)) {
    const text = String(node.value ?? '');
    const explicitTag = node.tag && node.tag !== 'tag:yaml.org,2002:str' ? node.tag : undefined;
    if (node.tag === 'tag:yaml.org,2002:str' || (node.type !== 'PLAIN' && !explicitTag)) return text;
    if (explicitTag && !CORE_TAG.test(explicitTag))
      return taggedScalar(explicitTag, text, file, lineOf(node, lines));
    const value = resolveGoScalar(text);
    const refused = explicitTag && tagRefuses(explicitTag, value);
    if (refused)
      throw new YamlError(
        file,
        lineOf(node, lines),
        `cannot decode ${refused} \`${text}\` as a ${tagName(explicitTag)}`,
      );
    return value;
  }
  if (isSeq(node)) return node.items.map((item) => toGo(item as Node, doc, budget, file, lines));
  if (isMap(node)) {
    const out: GoMap = Object.create(null);
    for (const pair of node.items) {
      if (!isPair(pair)) continue;
      const keyNode = pair.key as Node | null;
      if (isScalar(keyNode) && keyNode.type === 'PLAIN' && keyNode.value === '<<') {
        mergeInto(out, toGo(pair.value as Node, doc, budget, file, lines), file, lineOf(keyNode, lines));
        continue;
      }
      const key = goKeyString(toGo(keyNode, doc, budget, file, lines), file, lineOf(keyNode, lines));
      out[key] = toGo(pair.value as Node, doc, budget, file, lines);
    }
    return out;
  }
  throw new YamlError(file, lineOf(node, lines), 'unsupported YAML node');
}

/** A scalar under a tag go-yaml's resolver does not resolve by its text (yaml-tags.ts). */
function taggedScalar(tag: string, text: string, file: string, line: number | undefined): GoValue {
  if (tag === BINARY_TAG) {
    const decoded = decodeGoBinary(text);
    if (decoded === undefined) throw new YamlError(file, line, '!!binary value contains invalid base64 data');
    return decoded;
  }
  if (tag === TIMESTAMP_TAG) {
    if (looksLikeTimestamp(text)) return text;
    throw new YamlError(
      file,
      line,
      `cannot decode ${kindTag(resolveGoScalar(text))} \`${text}\` as a !!timestamp`,
    );
  }
  return text;
}

/** go-yaml's kind of a resolved scalar, as its errors name it. */
function kindTag(value: GoValue): string {
  if (value === null) return '!!null';
  if (typeof value === 'boolean') return '!!bool';
  if (typeof value === 'bigint') return '!!int';
  if (typeof value === 'number') return '!!float';
  return '!!str';
}

const CORE_TAG = /^tag:yaml\.org,2002:(bool|int|float|null)$/;

function tagName(tag: string): string {
  return tag.replace(/^tag:yaml\.org,2002:/, '!!');
}

/**
 * go-yaml resolves a scalar tagged `!!bool`, `!!int`, `!!float` or `!!null` and fails when it
 * is something else (`!!int abc`); an integer is a float too. The kind it found, if refused.
 */
function tagRefuses(tag: string, value: GoValue): string | undefined {
  if (!CORE_TAG.test(tag)) return undefined;
  const kind = kindTag(value);
  const wanted = tagName(tag);
  return kind === wanted || (wanted === '!!float' && kind === '!!int') ? undefined : kind;
}

function isGoMap(v: GoValue): v is GoMap {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** go-yaml v2 merge keys: a map, or a list of maps where earlier ones win. */
function mergeInto(out: GoMap, value: GoValue, file: string, line: number | undefined): void {
  const sources = Array.isArray(value) ? [...value].reverse() : [value];
  for (const source of sources) {
    if (!isGoMap(source))
      throw new YamlError(file, line, 'map merge requires map or sequence of maps as the value');
    Object.assign(out, source);
  }
}

/**
 * Map keys as sigs.k8s.io/yaml turns them into JSON object keys: ints in decimal, floats as
 * FormatFloat(32) with the infinities and NaN spelled back in YAML (`.inf`, `-.inf`, `.nan`),
 * and a uint64 (an integer past int64, which go-yaml decodes unsigned) refused — its switch
 * has no case for one.
 */
function goKeyString(key: GoValue, file: string, line: number | undefined): string {
  if (typeof key === 'string') return key;
  if (typeof key === 'bigint') {
    if (key > INT64_MAX)
      throw new YamlError(file, line, `unsupported map key of type: uint64, key: 0x${key.toString(16)}`);
    return key.toString();
  }
  if (typeof key === 'number') {
    if (Number.isNaN(key)) return '.nan';
    if (!Number.isFinite(key)) return key > 0 ? '.inf' : '-.inf';
    return formatFloat32(key);
  }
  if (typeof key === 'boolean') return String(key);
  throw new YamlError(file, line, `unsupported map key ${JSON.stringify(String(key))}`);
}

const BOOLS: Record<string, boolean> = Object.fromEntries([
  ...['y', 'Y', 'yes', 'Yes', 'YES', 'true', 'True', 'TRUE', 'on', 'On', 'ON'].map((s) => [s, true]),
  ...['n', 'N', 'no', 'No', 'NO', 'false', 'False', 'FALSE', 'off', 'Off', 'OFF'].map((s) => [s, false]),
]);
const NULLS = new Set(['', '~', 'null', 'Null', 'NULL']);
const SPECIAL_FLOATS: Record<string, number> = {
  '.nan': Number.NaN,
  '.NaN': Number.NaN,
  '.NAN': Number.NaN,
  '.inf': Number.POSITIVE_INFINITY,
  '.Inf': Number.POSITIVE_INFINITY,
  '.INF': Number.POSITIVE_INFINITY,
  '+.inf': Number.POSITIVE_INFINITY,
  '+.Inf': Number.POSITIVE_INFINITY,
  '+.INF': Number.POSITIVE_INFINITY,
  '-.inf': Number.NEGATIVE_INFINITY,
  '-.Inf': Number.NEGATIVE_INFINITY,
  '-.INF': Number.NEGATIVE_INFINITY,
};
const YAML_STYLE_FLOAT = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;
const TIMESTAMP_START = /^[0-9]{4}-/;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

/** go-yaml v2's resolve() for an untagged plain scalar (timestamps stay strings in interface{}). */
export function resolveGoScalar(text: string): GoValue {
  if (NULLS.has(text)) return null;
  const first = text[0] ?? '';
  // own keys only: `toString` is a plain string, not the table's inherited method
  if ('yYnNtTfFoO~'.includes(first)) return Object.hasOwn(BOOLS, text) ? (BOOLS[text] as boolean) : text;
  if (first === '.') {
    if (Object.hasOwn(SPECIAL_FLOATS, text)) return SPECIAL_FLOATS[text] as number;
    const f = parseGoFloat(text);
    return f === undefined ? text : finiteOr(f, text);
  }
  if (!/^[-+0-9]/.test(first)) return text;
  if (Object.hasOwn(SPECIAL_FLOATS, text)) return SPECIAL_FLOATS[text] as number;
  if (TIMESTAMP_START.test(text) && looksLikeTimestamp(text)) return text;
  const plain = text.replaceAll('_', '');
  const int = parseGoInt(plain);
  if (int !== undefined) return int;
  // strconv.ParseFloat fails past float64's range (`1e400`), and go-yaml keeps the string
  if (YAML_STYLE_FLOAT.test(plain)) return finiteOr(Number(plain), text);
  return text;
}

function finiteOr(f: number, text: string): number | string {
  return Number.isFinite(f) ? f : text;
}

/** strconv.ParseInt/ParseUint with base 0 (0x, 0o, 0b, leading-0 octal), in int64/uint64 range. */
function parseGoInt(plain: string): bigint | undefined {
  const m = /^([-+]?)(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)$/.exec(plain);
  if (!m) return undefined;
  const sign = m[1] === '-' ? -1n : 1n;
  const digits = m[2] as string;
  let magnitude: bigint;
  if (/^0[oO]/.test(digits)) magnitude = BigInt(`0o${digits.slice(2)}`);
  else if (/^0[0-7]+$/.test(digits)) magnitude = BigInt(`0o${digits.slice(1)}`);
  else magnitude = BigInt(digits);
  const value = sign * magnitude;
  if (value >= INT64_MIN && value <= INT64_MAX) return value;
  // strconv.ParseUint takes no sign: `+9223372036854775808` is a float to go-yaml
  if (m[1] === '' && value <= UINT64_MAX) return value;
  return undefined;
}

/** strconv.ParseFloat for the forms that can start with '.' (decimal only). */
function parseGoFloat(text: string): number | undefined {
  return /^\.[0-9]+([eE][-+]?[0-9]+)?$/.test(text) ? Number(text) : undefined;
}

/** go-yaml v2's accepted timestamp layouts (date, date+time with optional zone). */
export function looksLikeTimestamp(text: string): boolean {
  const date = '[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}';
  const time = '[0-9]{1,2}:[0-9]{1,2}:[0-9]{1,2}(\\.[0-9]+)?';
  const zone = '(Z|[-+][0-9]{2}:[0-9]{2})';
  return new RegExp(`^(${date}|${date}[Tt]${time}${zone}|${date} ${time})$`).test(text) && validDate(text);
}

function validDate(text: string): boolean {
  const [y, mo, d] = text
    .slice(0, 10)
    .split(/[-T t]/)
    .map(Number) as [number, number, number];
  if (mo < 1 || mo > 12 || d < 1) return false;
  return d <= daysInMonth(y, mo);
}

/** Days in a month of the proleptic Gregorian calendar, as Go counts them (year 0 is leap). */
export function daysInMonth(year: number, month: number): number {
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  if (month === 2) return leap ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/**
 * Go's strconv.FormatFloat(v, 'g', -1, 32) (shortest digits; exponent form below 1e-4 or from 1e6), which sigs.k8s.io/yaml uses when a YAML float lands
 * in a string field (so `appVersion: 1.10` becomes "1.1", `1.0` becomes "1").
 */
export function formatFloat32(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Number.POSITIVE_INFINITY) return '+Inf';
  if (v === Number.NEGATIVE_INFINITY) return '-Inf';
  const f = Math.fround(v);
  if (!Number.isFinite(f)) return f > 0 ? '+Inf' : '-Inf';
  if (f === 0) return Object.is(f, -0) ? '-0' : '0';
  let digits = '';
  for (let p = 1; p <= 9; p++) {
    digits = f.toExponential(p - 1);
    if (Math.fround(Number(digits)) === f) break;
  }
  const [mantissa, expText] = digits.split('e') as [string, string];
  const exp = Number(expText);
  const neg = mantissa.startsWith('-');
  const digitString = mantissa.replace('-', '').replace('.', '');
  const out = exp < -4 || exp >= 6 ? expForm(digitString, exp) : fixedForm(digitString, exp);
  return neg ? `-${out}` : out;
}

/** Go's strconv.FormatFloat(v, 'g', -1, 64), what go-yaml writes for a float (finite `v`). */
export function formatFloat64(v: number): string {
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  // toExponential() without digits gives the shortest that reads back, as Go's -1 precision
  const [mantissa, expText] = v.toExponential().split('e') as [string, string];
  const exp = Number(expText);
  const neg = mantissa.startsWith('-');
  const digitString = mantissa.replace('-', '').replace('.', '');
  const out = exp < -4 || exp >= 6 ? expForm(digitString, exp) : fixedForm(digitString, exp);
  return neg ? `-${out}` : out;
}

function fixedForm(digits: string, exp: number): string {
  if (exp < 0) return `0.${'0'.repeat(-exp - 1)}${digits}`;
  if (digits.length <= exp + 1) return digits + '0'.repeat(exp + 1 - digits.length);
  return `${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
}

function expForm(digits: string, exp: number): string {
  const mant = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
  const sign = exp < 0 ? '-' : '+';
  const abs = Math.abs(exp);
  return `${mant}e${sign}${abs < 10 ? `0${abs}` : abs}`;
}
