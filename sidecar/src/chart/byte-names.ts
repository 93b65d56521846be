/**
 * File names as the file system holds them: bytes, which need not be UTF-8 (git and helm take
 * any). Listing a directory with string names would turn each invalid byte into U+FFFD, a name
 * that no longer exists. So a name read as bytes becomes a string in which valid UTF-8 is decoded
 * and every other byte b is the lone surrogate U+DC00+b (Python's "surrogateescape"): nothing is
 * lost, a valid UTF-8 name reads as usual, and `nameBytes` gives the exact bytes back (for the
 * file system, and for `.helmignore` matching, which is bytewise in helm).
 */
import { isUtf8 } from 'node:buffer';
import { type Dirent, readdirSync } from 'node:fs';
import { readdir } from 'node:fs/promises';

/** Go's string order (bytewise UTF-8), which helm's directory walk uses. */
export function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** Escaped bytes: lone surrogates (a string from UTF-8 never holds one). */
const ESCAPED_ALL = /[\uDC80-\uDCFF]/gu;

/** Whether the string holds no lone surrogate, i.e. no escaped byte (ES2024, native in Node 24). */
function wellFormed(s: string): boolean {
  return (s as unknown as { isWellFormed(): boolean }).isWellFormed();
}

/** The bytes of a file name as a string (see above). */
export function decodeName(bytes: Buffer): string {
  if (isUtf8(bytes)) return bytes.toString('utf8');
  let out = '';
  let start = 0;
  let i = 0;
  while (i < bytes.length) {
    const n = sequenceLength(bytes, i);
    if (n > 0) {
      i += n;
      continue;
    }
    out += bytes.toString('utf8', start, i) + String.fromCharCode(0xdc00 + (bytes[i] as number));
    start = ++i;
  }
  return out + bytes.toString('utf8', start);
}

/** The bytes `decodeName` read. */
export function nameBytes(name: string): Buffer {
  if (wellFormed(name)) return Buffer.from(name, 'utf8');
  const parts: Buffer[] = [];
  let start = 0;
  for (const m of name.matchAll(ESCAPED_ALL)) {
    parts.push(Buffer.from(name.slice(start, m.index), 'utf8'), Buffer.of(m[0].charCodeAt(0) - 0xdc00));
    start = m.index + 1;
  }
  parts.push(Buffer.from(name.slice(start), 'utf8'));
  return Buffer.concat(parts);
}

/** Whether the name (or path) read from disk is valid UTF-8. */
export function isUtf8Name(name: string): boolean {
  return wellFormed(name);
}

/** The path to hand to `fs`: the string itself, or its bytes when it is not UTF-8. */
export function fsPath(path: string): string | Buffer {
  return wellFormed(path) ? path : nameBytes(path);
}

/** The name for people and JSON: each byte that is not UTF-8 as `\xNN`. */
export function showName(name: string): string {
  if (wellFormed(name)) return name;
  return name.replace(ESCAPED_ALL, (c) => `\\x${(c.charCodeAt(0) - 0xdc00).toString(16).padStart(2, '0')}`);
}

/**
 * The entries of a directory in Go's order (bytewise, as helm walks), each decoded as above.
 * Listing as strings is ~3 times cheaper: names come as bytes only when one of them shows U+FFFD
 * (invalid bytes, or that character itself).
 */
export function readdirNames(dir: string): string[] {
  const path = fsPath(dir);
  const names = readdirSync(path);
  if (!names.some(mayBeLossy)) return names.sort(compareBytes);
  return readdirSync(path, { encoding: 'buffer' }).sort(Buffer.compare).map(decodeName);
}

/** A directory entry whose name is decoded as above. */
export interface NamedEntry {
  name: string;
  isDirectory(): boolean;
}

/**
 * A directory's entries, unsorted, names decoded as above (listed as bytes only when a name
 * shows U+FFFD, as readdirNames does).
 */
export function readdirEntriesSync(dir: string): NamedEntry[] {
  const path = fsPath(dir);
  const entries = readdirSync(path, { withFileTypes: true });
  if (!entries.some((e) => mayBeLossy(e.name))) return entries;
  return decodedEntries(readdirSync(path, { withFileTypes: true, encoding: 'buffer' }));
}

/** readdirEntriesSync through the thread pool. */
export async function readdirEntries(dir: string): Promise<NamedEntry[]> {
  const path = fsPath(dir);
  const entries = await readdir(path, { withFileTypes: true });
  if (!entries.some((e) => mayBeLossy(e.name))) return entries;
  return decodedEntries(await readdir(path, { withFileTypes: true, encoding: 'buffer' }));
}

function decodedEntries(raw: Dirent<Buffer>[]): NamedEntry[] {
  return raw.map((e) => ({ name: decodeName(e.name), isDirectory: () => e.isDirectory() }));
}

/** Whether a name listed as a string may have lost bytes (they read as U+FFFD). */
export function mayBeLossy(name: string): boolean {
  return name.includes('\uFFFD');
}

/** Length of the valid UTF-8 sequence at `i` (Go's utf8.DecodeRune rules), 0 when invalid. */
function sequenceLength(b: Buffer, i: number): number {
  const c = b[i] as number;
  if (c < 0x80) return 1;
  const cont = (j: number, lo = 0x80, hi = 0xbf) => {
    const x = b[i + j];
    return x !== undefined && x >= lo && x <= hi;
  };
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    const lo = c === 0xe0 ? 0xa0 : 0x80;
    const hi = c === 0xed ? 0x9f : 0xbf;
    return cont(1, lo, hi) && cont(2) ? 3 : 0;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    const lo = c === 0xf0 ? 0x90 : 0x80;
    const hi = c === 0xf4 ? 0x8f : 0xbf;
    return cont(1, lo, hi) && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}
