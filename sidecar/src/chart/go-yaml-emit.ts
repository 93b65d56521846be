/**
 * Serialises plain data the way helm writes Chart.yaml and Chart.lock (sigs.k8s.io/yaml over
 * go-yaml v2): block style, map keys in go-yaml's natural order, sequences not indented under
 * their key, and go-yaml's choice between plain, single-quoted, double-quoted and literal
 * scalars, so strings that YAML 1.1 would read as something else (`yes`, `1.0`, timestamps)
 * come back as the same strings. Long lines are not folded (go-yaml folds at 80 columns);
 * the data is the same either way.
 */
import { formatFloat64, looksLikeTimestamp, resolveGoScalar } from './yaml.js';

export type EmitValue = string | number | boolean | null | EmitValue[] | { [key: string]: EmitValue };

/**
 * Texts of sequence items (maps) emitted before, reused by the caller's key: an index that
 * gains one version re-emits one entry, not all of them. `key` returns undefined for items not
 * worth keeping; the texts are dropped all at once when `max` is reached.
 */
export interface ItemMemo {
  key(item: { [key: string]: EmitValue }): string | undefined;
  texts: Map<string, string>;
  max: number;
}

// The memo of the emitGoYaml call under way (emitting is synchronous: no other call interleaves).
let memo: ItemMemo | undefined;

/** One YAML document, as go-yaml v2's Marshal would write it. */
export function emitGoYaml(value: EmitValue, opts: { memo?: ItemMemo } = {}): string {
  const out: string[] = [];
  memo = opts.memo;
  try {
    if (isMap(value) && Object.keys(value).length > 0) writeMap(value, 0, out);
    else out.push(`${inline(value, 0, 0)}\n`);
  } finally {
    memo = undefined;
  }
  return out.join('');
}

function isMap(v: EmitValue): v is { [key: string]: EmitValue } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isBlockCollection(v: EmitValue): boolean {
  return (Array.isArray(v) && v.length > 0) || (isMap(v) && Object.keys(v).length > 0);
}

function writeMap(
  map: { [key: string]: EmitValue },
  indent: number,
  out: string[],
  firstPrefix?: string,
): void {
  const keys = Object.keys(map).sort(compareKeys);
  keys.forEach((key, i) => {
    const pad = i === 0 && firstPrefix !== undefined ? firstPrefix : ' '.repeat(indent);
    const value = map[key] as EmitValue;
    const k = scalar(key, indent, indent, true);
    const valueColumn = indent + Array.from(k).length + 2;
    if (Array.isArray(value) && value.length > 0) {
      out.push(`${pad}${k}:\n`);
      writeSeq(value, indent, out);
    } else if (isMap(value) && Object.keys(value).length > 0) {
      out.push(`${pad}${k}:\n`);
      writeMap(value, indent + 2, out);
    } else {
      out.push(`${pad}${k}: ${inline(value, indent + 2, valueColumn)}\n`);
    }
  });
}

function writeSeq(seq: EmitValue[], indent: number, out: string[]): void {
  const pad = ' '.repeat(indent);
  for (const item of seq) {
    if (isMap(item) && Object.keys(item).length > 0) {
      writeMapItem(item, indent, pad, out);
    } else if (Array.isArray(item) && item.length > 0) {
      out.push(`${pad}-`);
      const nested: string[] = [];
      writeSeq(item, indent + 2, nested);
      out.push(` ${nested.join('').trimStart()}`);
    } else {
      out.push(`${pad}- ${inline(item, indent + 2, indent + 2)}\n`);
    }
  }
}

function writeMapItem(item: { [key: string]: EmitValue }, indent: number, pad: string, out: string[]): void {
  const key = memo?.key(item);
  if (!memo || key === undefined) {
    writeMap(item, indent + 2, out, `${pad}- `);
    return;
  }
  const k = `${indent}:${key}`;
  let text = memo.texts.get(k);
  if (text === undefined) {
    const part: string[] = [];
    writeMap(item, indent + 2, part, `${pad}- `);
    text = part.join('');
    if (memo.texts.size >= memo.max) memo.texts.clear();
    memo.texts.set(k, text);
  }
  out.push(text);
}

/** A scalar or an empty collection on the current line, starting at `column`. */
function inline(value: EmitValue, indent: number, column: number): string {
  if (value === null) return 'null';
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'number') return formatNumber(value);
  if (Array.isArray(value)) return '[]';
  if (isMap(value)) return '{}';
  if (isBlockCollection(value)) throw new Error('unreachable');
  return scalar(value, indent, column, false);
}

/**
 * A number as sigs.k8s.io/yaml writes it (numbers reach the emitter as JSON float64s, e.g. in
 * import-values): encoding/json's text, read back by go-yaml, so an integral value whose text
 * fits int64 or uint64 is written as that integer, and anything else as a float with
 * FormatFloat('g', -1, 64) — `1e+20`, `1e-06`, `1.2345675e+06`, `-9.223372036854776e+18`
 * (its JSON text, -9223372036854776000, is past int64).
 */
function formatNumber(n: number): string {
  if (Number.isNaN(n)) return '.nan';
  if (n === Number.POSITIVE_INFINITY) return '.inf';
  if (n === Number.NEGATIVE_INFINITY) return '-.inf';
  if (Number.isInteger(n) && Math.abs(n) < 1e21) {
    // encoding/json's 'f' text below 1e21: the shortest digits, zero-padded, as String() gives
    const text = String(n);
    const int = BigInt(text);
    if (int >= INT64_MIN && int <= UINT64_MAX) return text;
  }
  return formatFloat64(n);
}

const INT64_MIN = -(2n ** 63n);
const UINT64_MAX = 2n ** 64n - 1n;

interface Analysis {
  multiline: boolean;
  blockPlainAllowed: boolean;
  singleQuotedAllowed: boolean;
  blockAllowed: boolean;
}

const isSpace = (c: number) => c === 0x20;
const isBreak = (c: number) => c === 0x0a || c === 0x0d || c === 0x85 || c === 0x2028 || c === 0x2029;
const isBlank = (c: number | undefined) => c === 0x20 || c === 0x09;

/** go-yaml's is_printable, by code point (4-byte UTF-8 characters are not "printable"). */
function isPrintable(c: number): boolean {
  return (
    c === 0x0a ||
    (c >= 0x20 && c <= 0x7e) ||
    (c >= 0xa0 && c <= 0xd7ff) ||
    (c >= 0xe000 && c <= 0xfffd && c !== 0xfeff)
  );
}

/** Port of yaml_emitter_analyze_scalar (block context, unicode output enabled). */
function analyze(value: string): Analysis {
  if (value.length === 0) {
    return { multiline: false, blockPlainAllowed: true, singleQuotedAllowed: true, blockAllowed: false };
  }
  const cps = Array.from(value, (ch) => ch.codePointAt(0) as number);
  let blockIndicators = value.startsWith('---') || value.startsWith('...');
  let lineBreaks = false;
  let special = false;
  let leadingSpace = false;
  let leadingBreak = false;
  let trailingSpace = false;
  let trailingBreak = false;
  let breakSpace = false;
  let spaceBreak = false;
  let precededByWhitespace = true;
  let previousSpace = false;
  let previousBreak = false;
  cps.forEach((c, i) => {
    const next = cps[i + 1];
    const followedByWhitespace = next === undefined || isBlank(next);
    if (i === 0) {
      if ('#,[]{}&*!|>\'"%@`'.includes(String.fromCodePoint(c))) blockIndicators = true;
      else if ((c === 0x3f || c === 0x3a) && followedByWhitespace) blockIndicators = true;
      else if (c === 0x2d && followedByWhitespace) blockIndicators = true;
    } else if (c === 0x3a && followedByWhitespace) blockIndicators = true;
    else if (c === 0x23 && precededByWhitespace) blockIndicators = true;
    if (!isPrintable(c)) special = true;
    const last = i === cps.length - 1;
    if (isSpace(c)) {
      if (i === 0) leadingSpace = true;
      if (last) trailingSpace = true;
      if (previousBreak) breakSpace = true;
      previousSpace = true;
      previousBreak = false;
    } else if (isBreak(c)) {
      lineBreaks = true;
      if (i === 0) leadingBreak = true;
      if (last) trailingBreak = true;
      if (previousSpace) spaceBreak = true;
      previousSpace = false;
      previousBreak = true;
    } else {
      previousSpace = false;
      previousBreak = false;
    }
    precededByWhitespace = isBlank(c) || isBreak(c);
  });
  const a: Analysis = {
    multiline: lineBreaks,
    blockPlainAllowed: true,
    singleQuotedAllowed: true,
    blockAllowed: true,
  };
  if (leadingSpace || leadingBreak || trailingSpace || trailingBreak) a.blockPlainAllowed = false;
  if (trailingSpace) a.blockAllowed = false;
  if (breakSpace) {
    a.blockPlainAllowed = false;
    a.singleQuotedAllowed = false;
  }
  if (spaceBreak || special) {
    a.blockPlainAllowed = false;
    a.singleQuotedAllowed = false;
    a.blockAllowed = false;
  }
  if (lineBreaks) a.blockPlainAllowed = false;
  if (blockIndicators) a.blockPlainAllowed = false;
  return a;
}

/** go-yaml's isBase60Float: YAML 1.1 sexagesimal numbers are quoted for old parsers. */
const BASE60 = /^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$/;

/** Chooses the scalar style as encoder.stringv + yaml_emitter_select_scalar_style do. */
function scalar(value: string, indent: number, column: number, isKey: boolean): string {
  const a = analyze(value);
  let style: 'plain' | 'single' | 'double' | 'literal';
  if (value.includes('\n')) style = 'literal';
  else
    style =
      resolveGoScalar(value) === value && !looksLikeTimestamp(value) && !BASE60.test(value)
        ? 'plain'
        : 'double';
  if (isKey && a.multiline) style = 'double';
  if (style === 'plain' && (!a.blockPlainAllowed || (value.length === 0 && isKey))) style = 'single';
  if (style === 'single' && !a.singleQuotedAllowed) style = 'double';
  if (style === 'literal' && (!a.blockAllowed || isKey)) style = 'double';
  switch (style) {
    case 'plain':
      return isKey ? value : folded(value, indent, column, 'plain');
    case 'single':
      return isKey ? `'${value.replaceAll("'", "''")}'` : folded(value, indent, column, 'single');
    case 'double':
      return doubleQuoted(value, isKey ? undefined : { indent, column });
    case 'literal':
      return literal(value, indent);
  }
}

const ESCAPES: Record<number, string> = {
  0: '\\0',
  7: '\\a',
  8: '\\b',
  9: '\\t',
  10: '\\n',
  11: '\\v',
  12: '\\f',
  13: '\\r',
  27: '\\e',
  34: '\\"',
  92: '\\\\',
  133: '\\N',
  160: '\\_',
  8232: '\\L',
  8233: '\\P',
};

/** go-yaml folds long plain and single-quoted scalars at spaces once past this column. */
const BEST_WIDTH = 80;

/** Port of write_plain_scalar / write_single_quoted_scalar (block context, breaks allowed). */
function folded(value: string, indent: number, column: number, style: 'plain' | 'single'): string {
  const chars = Array.from(value);
  const quote = style === 'single' ? "'" : '';
  let out = quote;
  let col = column + quote.length;
  let spaces = false;
  let breaks = false;
  chars.forEach((ch, i) => {
    // Only single-quoted scalars hold breaks here (a '\n' makes a literal or double-quoted
    // scalar): CR, LS or PS is written as it is, and the text after it starts on an indented line.
    if (isBreak(ch.codePointAt(0) as number)) {
      out += ch;
      col = 0;
      breaks = true;
      return;
    }
    if (ch === ' ') {
      const inside = style === 'plain' || (i > 0 && i < chars.length - 1);
      if (!spaces && col > BEST_WIDTH && inside && chars[i + 1] !== ' ') {
        out += `\n${' '.repeat(indent)}`;
        col = indent;
      } else {
        out += ' ';
        col++;
      }
      spaces = true;
      return;
    }
    if (breaks) {
      out += ' '.repeat(indent);
      col = indent;
      breaks = false;
    }
    const text = style === 'single' && ch === "'" ? "''" : ch;
    out += text;
    col += text.length;
    spaces = false;
  });
  return out + quote;
}

/** Port of write_double_quoted_scalar; `fold` is absent for keys (no line breaks there). */
function doubleQuoted(value: string, fold?: { indent: number; column: number }): string {
  const chars = Array.from(value);
  let out = '"';
  let col = (fold?.column ?? 0) + 1;
  let spaces = false;
  chars.forEach((ch, i) => {
    const c = ch.codePointAt(0) as number;
    const esc = ESCAPES[c];
    let text: string;
    if (esc && c !== 0xa0) text = esc;
    else if (!isPrintable(c) || c === 0xfeff) text = hexEscape(c);
    else if (ch === ' ') {
      if (fold && !spaces && col > BEST_WIDTH && i > 0 && i < chars.length - 1) {
        out += `\n${' '.repeat(fold.indent)}`;
        col = fold.indent;
        if (chars[i + 1] === ' ') {
          out += '\\';
          col++;
        }
        spaces = true;
        return;
      }
      out += ' ';
      col++;
      spaces = true;
      return;
    } else text = ch;
    out += text;
    col += text.length;
    spaces = false;
  });
  return `${out}"`;
}

function hexEscape(c: number): string {
  const hex = c.toString(16).toUpperCase();
  if (c <= 0xff) return `\\x${hex.padStart(2, '0')}`;
  if (c <= 0xffff) return `\\u${hex.padStart(4, '0')}`;
  return `\\U${hex.padStart(8, '0')}`;
}

/** A literal block scalar with go-yaml's indentation and chomping indicators. */
function literal(value: string, indent: number): string {
  const indentHint = value.startsWith(' ') || isBreak(value.codePointAt(0) ?? 0) ? '2' : '';
  let chomp = '';
  if (!value.endsWith('\n')) chomp = '-';
  else if (value === '\n' || value.endsWith('\n\n')) chomp = '+';
  const pad = ' '.repeat(indent);
  const body = (value.endsWith('\n') ? value.slice(0, -1) : value)
    .split('\n')
    .map((line) => (line === '' ? '' : pad + line))
    .join('\n');
  return `|${indentHint}${chomp}\n${body}`;
}

/** go-yaml v2's keyList.Less for string keys: letters before others, digit runs compared as numbers. */
export function compareKeys(a: string, b: string): number {
  if (a === b) return 0;
  return keyLess(a, b) ? -1 : 1;
}

const LETTER = /\p{L}/u;
const DIGIT = /\p{Nd}/u;

function keyLess(a: string, b: string): boolean {
  const ar = Array.from(a);
  const br = Array.from(b);
  for (let i = 0; i < ar.length && i < br.length; i++) {
    const x = ar[i] as string;
    const y = br[i] as string;
    if (x === y) continue;
    const al = LETTER.test(x);
    const bl = LETTER.test(y);
    if (al && bl) return (x.codePointAt(0) as number) < (y.codePointAt(0) as number);
    if (al || bl) return bl;
    let an = 0n;
    let bn = 0n;
    if (x === '0' || y === '0') {
      for (let j = i - 1; j >= 0 && DIGIT.test(ar[j] as string); j--) {
        if (ar[j] !== '0') {
          an = 1n;
          bn = 1n;
          break;
        }
      }
    }
    let ai = i;
    for (; ai < ar.length && DIGIT.test(ar[ai] as string); ai++) an = an * 10n + digitValue(ar[ai] as string);
    let bi = i;
    for (; bi < br.length && DIGIT.test(br[bi] as string); bi++) bn = bn * 10n + digitValue(br[bi] as string);
    if (an !== bn) return an < bn;
    if (ai !== bi) return ai < bi;
    return (x.codePointAt(0) as number) < (y.codePointAt(0) as number);
  }
  return ar.length < br.length;
}

function digitValue(ch: string): bigint {
  return BigInt((ch.codePointAt(0) as number) - 0x30);
}
