/**
 * A byte-exact port of Go's `path/filepath.Match` (Unix flavour), which helm uses for
 * `.helmignore` patterns. Glob libraries differ from it in small ways (`[^...]`, `\` escapes,
 * what counts as a malformed pattern), and helm's ignore semantics depend on those details.
 * Both pattern and name are handled as UTF-8 bytes, as Go does.
 *
 * Go's algorithm never backtracks across stars: each chunk after a star takes the leftmost
 * position where it matches (the last chunk: where it matches to the end), so one match costs
 * at most (name bytes up to the next `/`) × (chunk length) per chunk. This port keeps that
 * algorithm and makes it cheap: a pattern is compiled once (each chunk's syntax checked once:
 * Go reports a malformed chunk when the match reaches it, and only then), a chunk stops at its
 * first mismatch, and nothing is allocated per attempt. Callers that match many patterns against
 * many names pass a MatchBudget, which bounds the total work.
 */
import { nameBytes } from './byte-names.js';

export class BadPatternError extends Error {
  constructor(pattern: string) {
    super(`syntax error in pattern ${JSON.stringify(pattern)}`);
    this.name = 'BadPatternError';
  }
}

/** The total work allowed for a series of matches, counted in byte comparisons. */
export class MatchBudget {
  remaining: number;
  constructor(steps: number) {
    this.remaining = steps;
  }
}

/** Thrown when a MatchBudget is used up. */
export class MatchBudgetExceeded extends Error {
  constructor() {
    super('pattern matching needs more work than allowed');
    this.name = 'MatchBudgetExceeded';
  }
}

const SLASH = 0x2f;
const BACKSLASH = 0x5c;
const STAR = 0x2a;
const QUESTION = 0x3f;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const CARET = 0x5e;
const DASH = 0x2d;

const LITERAL = 0;
const ANY = 1;
const CLASS = 2;

/** One element of a chunk: a literal byte, `?`, or a `[...]` class (ranges as lo,hi pairs). */
interface Token {
  kind: typeof LITERAL | typeof ANY | typeof CLASS;
  byte: number;
  negated: boolean;
  ranges: number[];
}

/** The text between stars, whether stars preceded it, and whether it is malformed. */
interface Chunk {
  star: boolean;
  tokens: Token[];
  bad: boolean;
  /** The chunk's bytes when every token is a literal: found by a native search. */
  literal?: Buffer;
}

/** A compiled pattern. */
export interface GoPattern {
  source: string;
  chunks: Chunk[];
}

/** Compiles a pattern once, for matching against many names. */
export function compileGoPattern(pattern: string): GoPattern {
  // A pattern read from bytes that are not UTF-8 keeps them (byte-names.ts), as in Go.
  const bytes = nameBytes(pattern);
  const chunks: Chunk[] = [];
  let i = 0;
  while (i < bytes.length) {
    let star = false;
    while (i < bytes.length && bytes[i] === STAR) {
      i++;
      star = true;
    }
    const end = chunkEnd(bytes, i);
    const tokens = parseChunk(bytes, i, end);
    // A match never gets past a malformed chunk: the chunks after it do not matter.
    if (!tokens) {
      chunks.push({ star, tokens: [], bad: true });
      break;
    }
    const literal = tokens.every((t) => t.kind === LITERAL)
      ? Buffer.from(tokens.map((t) => t.byte))
      : undefined;
    chunks.push({ star, tokens, bad: false, ...(literal ? { literal } : {}) });
    i = end;
  }
  return { source: pattern, chunks };
}

/** Reports whether `name` matches the shell pattern; throws BadPatternError on a malformed pattern. */
export function goMatch(pattern: string | GoPattern, name: string | Buffer, budget?: MatchBudget): boolean {
  const p = typeof pattern === 'string' ? compileGoPattern(pattern) : pattern;
  const result = matchCompiled(p, typeof name === 'string' ? nameBytes(name) : name, budget);
  if (result === BAD) throw new BadPatternError(p.source);
  return result;
}

/** Go's scanChunk: the chunk ends at the next star outside `[...]` (a `\` escapes one byte). */
function chunkEnd(b: Buffer, start: number): number {
  let inRange = false;
  for (let i = start; i < b.length; i++) {
    const c = b[i];
    if (c === BACKSLASH) {
      if (i + 1 < b.length) i++;
    } else if (c === LBRACKET) {
      inRange = true;
    } else if (c === RBRACKET) {
      inRange = false;
    } else if (c === STAR && !inRange) {
      return i;
    }
  }
  return b.length;
}

/** Go's matchChunk, syntax only: the tokens of b[start, end), or undefined when malformed. */
function parseChunk(b: Buffer, start: number, end: number): Token[] | undefined {
  const tokens: Token[] = [];
  let i = start;
  while (i < end) {
    const c = b[i] as number;
    if (c === LBRACKET) {
      i++;
      let negated = false;
      if (i < end && b[i] === CARET) {
        negated = true;
        i++;
      }
      const ranges: number[] = [];
      for (;;) {
        if (i < end && b[i] === RBRACKET && ranges.length > 0) {
          i++;
          break;
        }
        const lo = getEsc(b, i, end);
        if (!lo) return undefined;
        i = lo.next;
        let hi = lo.rune;
        if (b[i] === DASH) {
          const h = getEsc(b, i + 1, end);
          if (!h) return undefined;
          i = h.next;
          hi = h.rune;
        }
        ranges.push(lo.rune, hi);
      }
      tokens.push({ kind: CLASS, byte: 0, negated, ranges });
    } else if (c === QUESTION) {
      tokens.push({ kind: ANY, byte: 0, negated: false, ranges: [] });
      i++;
    } else {
      if (c === BACKSLASH) {
        i++;
        if (i >= end) return undefined;
      }
      tokens.push({ kind: LITERAL, byte: b[i] as number, negated: false, ranges: [] });
      i++;
    }
  }
  return tokens;
}

/** Go's getEsc: one (possibly escaped) rune of a class; undefined when malformed. */
function getEsc(b: Buffer, start: number, end: number): { rune: number; next: number } | undefined {
  let i = start;
  if (i >= end || b[i] === DASH || b[i] === RBRACKET) return undefined;
  if (b[i] === BACKSLASH) {
    i++;
    if (i >= end) return undefined;
  }
  decodeRune(b, i, end);
  if (decodedRune === RUNE_ERROR && decodedSize === 1) return undefined;
  const next = i + decodedSize;
  if (next >= end) return undefined;
  return { rune: decodedRune, next };
}

const BAD = 'bad';
/**
 * What one match costs besides its byte comparisons (calls, setup), in comparisons: measured,
 * a match of a few chunks costs about as much as a hundred of them. It makes the budget bound
 * the number of pattern × name pairs too.
 */
const MATCH_OVERHEAD = 100;

/** Go's Match over a compiled pattern; BAD where Go returns ErrBadPattern. */
function matchCompiled(p: GoPattern, name: Buffer, budget: MatchBudget | undefined): boolean | typeof BAD {
  if (budget) {
    budget.remaining -= MATCH_OVERHEAD;
    if (budget.remaining < 0) throw new MatchBudgetExceeded();
  }
  const chunks = p.chunks;
  let pos = 0;
  outer: for (let ci = 0; ci < chunks.length; ci++) {
    const chunk = chunks[ci] as Chunk;
    const last = ci === chunks.length - 1;
    // Trailing star: matches the rest unless it holds a separator.
    if (chunk.star && chunk.tokens.length === 0 && !chunk.bad) return name.indexOf(SLASH, pos) < 0;
    if (chunk.bad) return BAD;
    if (chunk.literal) {
      const end = literalMatch(chunk.literal, chunk.star, last, name, pos, budget);
      if (end < 0) return false;
      pos = end;
      continue;
    }
    const t = matchChunkAt(chunk.tokens, name, pos, budget);
    if (t >= 0 && (t === name.length || !last)) {
      pos = t;
      continue;
    }
    if (chunk.star) {
      // Skip i+1 bytes (never a separator): the leftmost start where the chunk matches wins.
      for (let i = pos; i < name.length && name[i] !== SLASH; i++) {
        const u = matchChunkAt(chunk.tokens, name, i + 1, budget);
        if (u < 0 || (last && u < name.length)) continue;
        pos = u;
        continue outer;
      }
    }
    return false;
  }
  return pos === name.length;
}

/**
 * The outcome of Go's steps for a chunk of literal bytes, found with a native search: where the
 * match ends, or -1. Go takes the leftmost start that is `pos` itself or (after a star) beyond
 * skipped bytes holding no separator; for the last chunk the match must end the name, so only
 * one start can work.
 */
function literalMatch(
  lit: Buffer,
  star: boolean,
  last: boolean,
  name: Buffer,
  pos: number,
  budget: MatchBudget | undefined,
): number {
  let steps = 0;
  let found = -1;
  const lastStart = name.length - lit.length;
  if (last) {
    // The match must end the name: only one start can work, and the bytes it skips must
    // hold no separator.
    const slash = name.indexOf(SLASH, pos);
    const skipsNoSlash = lastStart === pos || (star && (slash < 0 || slash >= lastStart));
    if (lastStart >= pos && skipsNoSlash) {
      steps += lit.length; // the separator search above is one native scan
      if (name.subarray(lastStart).equals(lit)) found = name.length;
    }
  } else {
    // A start beyond `pos` skips the bytes before it, which must not hold a separator: the
    // search ends at the first one (or at once without a star).
    for (let x = pos; x <= lastStart; x++) {
      if (x > pos && (!star || name[x - 1] === SLASH)) break;
      let k = 0;
      while (k < lit.length && name[x + k] === lit[k]) k++;
      steps += k + 1;
      if (k === lit.length) {
        found = x + k;
        break;
      }
    }
  }
  if (budget) {
    budget.remaining -= steps + 1;
    if (budget.remaining < 0) throw new MatchBudgetExceeded();
  }
  return found;
}

/** Where the chunk's match starting at `pos` ends, or -1; stops at the first mismatch. */
function matchChunkAt(tokens: Token[], s: Buffer, start: number, budget: MatchBudget | undefined): number {
  let pos = start;
  if (budget) {
    budget.remaining -= tokens.length + 1;
    if (budget.remaining < 0) throw new MatchBudgetExceeded();
  }
  for (const tok of tokens) {
    if (pos >= s.length) return -1;
    if (tok.kind === LITERAL) {
      if (s[pos] !== tok.byte) return -1;
      pos++;
    } else if (tok.kind === ANY) {
      if (s[pos] === SLASH) return -1;
      decodeRune(s, pos, s.length);
      pos += decodedSize;
    } else {
      decodeRune(s, pos, s.length);
      pos += decodedSize;
      if (inRanges(tok.ranges, decodedRune) === tok.negated) return -1;
    }
  }
  return pos;
}

function inRanges(ranges: number[], r: number): boolean {
  for (let k = 0; k < ranges.length; k += 2) {
    if ((ranges[k] as number) <= r && r <= (ranges[k + 1] as number)) return true;
  }
  return false;
}

const RUNE_ERROR = 0xfffd;
/** The result of the last decodeRune (two numbers without an allocation per call). */
let decodedRune = 0;
let decodedSize = 0;

/**
 * Go's utf8.DecodeRune of b[i, end): invalid or truncated sequences (overlong forms,
 * surrogates, beyond U+10FFFF) decode to U+FFFD with size 1.
 */
function decodeRune(b: Buffer, i: number, end: number): void {
  const b0 = b[i] as number;
  decodedRune = RUNE_ERROR;
  decodedSize = 1;
  if (b0 < 0x80) {
    decodedRune = b0;
    return;
  }
  const cont = (k: number, lo = 0x80, hi = 0xbf) => {
    const x = i + k < end ? (b[i + k] as number) : -1;
    return x >= lo && x <= hi ? x & 0x3f : -1;
  };
  if (b0 >= 0xc2 && b0 <= 0xdf) {
    const c1 = cont(1);
    if (c1 < 0) return;
    decodedRune = ((b0 & 0x1f) << 6) | c1;
    decodedSize = 2;
  } else if (b0 >= 0xe0 && b0 <= 0xef) {
    const c1 = cont(1, b0 === 0xe0 ? 0xa0 : 0x80, b0 === 0xed ? 0x9f : 0xbf);
    const c2 = c1 < 0 ? -1 : cont(2);
    if (c2 < 0) return;
    decodedRune = ((b0 & 0x0f) << 12) | (c1 << 6) | c2;
    decodedSize = 3;
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    const c1 = cont(1, b0 === 0xf0 ? 0x90 : 0x80, b0 === 0xf4 ? 0x8f : 0xbf);
    const c2 = c1 < 0 ? -1 : cont(2);
    const c3 = c2 < 0 ? -1 : cont(3);
    if (c3 < 0) return;
    decodedRune = ((b0 & 0x07) << 18) | (c1 << 12) | (c2 << 6) | c3;
    decodedSize = 4;
  }
}
