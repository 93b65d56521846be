/**
 * A byte-exact port of Go's `path/filepath.Match` (Unix flavour), which helm uses for
 * `.helmignore` patterns. Glob libraries differ from it in small ways (`[^...]`, `\` escapes,
 * what counts as a malformed pattern), and helm's ignore semantics depend on those details.
 * Both pattern and name are handled as UTF-8 bytes, as Go does.
 */

export class BadPatternError extends Error {
  constructor(pattern: string) {
    super(`syntax error in pattern ${JSON.stringify(pattern)}`);
    this.name = 'BadPatternError';
  }
}

const SLASH = 0x2f;
const BACKSLASH = 0x5c;
const STAR = 0x2a;

/** Reports whether `name` matches the shell pattern; throws BadPatternError on a malformed pattern. */
export function goMatch(pattern: string, name: string): boolean {
  const result = matchBytes(Buffer.from(pattern, 'utf8'), Buffer.from(name, 'utf8'));
  if (result === 'bad') throw new BadPatternError(pattern);
  return result;
}

type Outcome = boolean | 'bad';

function matchBytes(patternIn: Buffer, nameIn: Buffer): Outcome {
  let pattern = patternIn;
  let name = nameIn;
  outer: while (pattern.length > 0) {
    const { star, chunk, rest } = scanChunk(pattern);
    pattern = rest;
    if (star && chunk.length === 0) return !name.includes(SLASH);
    const first = matchChunk(chunk, name);
    if (first.ok && (first.rest.length === 0 || pattern.length > 0)) {
      name = first.rest;
      continue;
    }
    if (first.bad) return 'bad';
    if (star) {
      for (let i = 0; i < name.length && name[i] !== SLASH; i++) {
        const t = matchChunk(chunk, name.subarray(i + 1));
        if (t.ok) {
          if (pattern.length === 0 && t.rest.length > 0) continue;
          name = t.rest;
          continue outer;
        }
        if (t.bad) return 'bad';
      }
    }
    return false;
  }
  return name.length === 0;
}

function scanChunk(patternIn: Buffer): { star: boolean; chunk: Buffer; rest: Buffer } {
  let pattern = patternIn;
  let star = false;
  while (pattern.length > 0 && pattern[0] === STAR) {
    pattern = pattern.subarray(1);
    star = true;
  }
  let inRange = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === BACKSLASH) {
      if (i + 1 < pattern.length) i++;
    } else if (c === 0x5b) {
      inRange = true;
    } else if (c === 0x5d) {
      inRange = false;
    } else if (c === STAR && !inRange) {
      return { star, chunk: pattern.subarray(0, i), rest: pattern.subarray(i) };
    }
  }
  return { star, chunk: pattern, rest: Buffer.alloc(0) };
}

interface ChunkResult {
  rest: Buffer;
  ok: boolean;
  bad: boolean;
}

const EMPTY = Buffer.alloc(0);
const BAD: ChunkResult = { rest: EMPTY, ok: false, bad: true };

function matchChunk(chunkIn: Buffer, sIn: Buffer): ChunkResult {
  let chunk = chunkIn;
  let s = sIn;
  let failed = false;
  while (chunk.length > 0) {
    failed = failed || s.length === 0;
    const c = chunk[0];
    if (c === 0x5b) {
      let r = -1;
      if (!failed) {
        const dec = decodeRune(s);
        r = dec.rune;
        s = s.subarray(dec.size);
      }
      chunk = chunk.subarray(1);
      let negated = false;
      if (chunk.length > 0 && chunk[0] === 0x5e) {
        negated = true;
        chunk = chunk.subarray(1);
      }
      let match = false;
      let nrange = 0;
      for (;;) {
        if (chunk.length > 0 && chunk[0] === 0x5d && nrange > 0) {
          chunk = chunk.subarray(1);
          break;
        }
        const lo = getEsc(chunk);
        if (!lo) return BAD;
        chunk = lo.rest;
        let hi = lo.rune;
        if (chunk[0] === 0x2d) {
          const h = getEsc(chunk.subarray(1));
          if (!h) return BAD;
          chunk = h.rest;
          hi = h.rune;
        }
        match = match || (lo.rune <= r && r <= hi);
        nrange++;
      }
      failed = failed || match === negated;
    } else if (c === 0x3f) {
      if (!failed) {
        failed = s[0] === SLASH;
        s = s.subarray(decodeRune(s).size);
      }
      chunk = chunk.subarray(1);
    } else {
      if (c === BACKSLASH) {
        chunk = chunk.subarray(1);
        if (chunk.length === 0) return BAD;
      }
      if (!failed) {
        failed = chunk[0] !== s[0];
        s = s.subarray(1);
      }
      chunk = chunk.subarray(1);
    }
  }
  return failed ? { rest: EMPTY, ok: false, bad: false } : { rest: s, ok: true, bad: false };
}

function getEsc(chunkIn: Buffer): { rune: number; rest: Buffer } | undefined {
  let chunk = chunkIn;
  if (chunk.length === 0 || chunk[0] === 0x2d || chunk[0] === 0x5d) return undefined;
  if (chunk[0] === BACKSLASH) {
    chunk = chunk.subarray(1);
    if (chunk.length === 0) return undefined;
  }
  const { rune, size, invalid } = decodeRune(chunk);
  const rest = chunk.subarray(size);
  if (invalid || rest.length === 0) return undefined;
  return { rune, rest };
}

const RUNE_ERROR = 0xfffd;

/** Go's utf8.DecodeRune: invalid or truncated sequences decode to U+FFFD with size 1. */
function decodeRune(b: Buffer): { rune: number; size: number; invalid: boolean } {
  const b0 = b[0];
  if (b0 === undefined) return { rune: RUNE_ERROR, size: 0, invalid: true };
  if (b0 < 0x80) return { rune: b0, size: 1, invalid: false };
  const size = b0 >= 0xf0 && b0 < 0xf5 ? 4 : b0 >= 0xe0 ? 3 : b0 >= 0xc2 && b0 < 0xe0 ? 2 : 0;
  if (size === 0 || b.length < size) return { rune: RUNE_ERROR, size: 1, invalid: true };
  const text = b.subarray(0, size).toString('utf8');
  const cp = text.codePointAt(0) ?? RUNE_ERROR;
  if (cp === RUNE_ERROR || Buffer.byteLength(String.fromCodePoint(cp)) !== size) {
    return { rune: RUNE_ERROR, size: 1, invalid: true };
  }
  return { rune: cp, size, invalid: false };
}
