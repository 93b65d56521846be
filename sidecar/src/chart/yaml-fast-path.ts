/**
 * When values.yaml may NOT take js-yaml's fast path (yaml.ts checkYamlDocument): js-yaml turns
 * keys go-yaml refuses (null, empty, a collection) into strings, lets integer keys past int64
 * through (refused on the way to JSON), reads !!binary and !!timestamp more leniently than
 * go-yaml (yaml-tags.ts), and resolves explicit core tags its own way (`!!int
 * 99999999999999999999` is a number). Each check is a cheap look at the text that may say "maybe"
 * when the answer is no: the go-yaml path then judges.
 */

/** Whether js-yaml may read `text` otherwise than go-yaml does. */
export function jsYamlMayDiffer(text: string): boolean {
  return mayHoldOddKey(text) || mayHoldUintKey(text) || LENIENT_TAGS.test(text);
}

const LENIENT_TAGS = /binary|timestamp|!!(?:int|float|bool|null)|tag:yaml\.org/;

/**
 * Whether `text` may hold a plain integer key past int64 (go-yaml decodes it as a uint64,
 * which sigs.k8s.io/yaml cannot make a JSON key of): a digit followed by 15 or more digits,
 * letters of a base prefix or underscores, then a `:` (0x8000000000000000, the shortest, has 18).
 */
function mayHoldUintKey(text: string): boolean {
  return /[0-9][0-9a-fA-FxXoObB_]{15,}[ \t]*:/.test(text);
}

/**
 * Whether `text` may hold a key that is null (`~:`, `null:`, `: x`), explicit (`? `) or a
 * collection (`[a]: x`): what the pattern
 * `/(^|[\s{,[])(~|null|Null|NULL)?\s*:(\s|$)|^\s*\?(\s|$)|[\]}]\s*:(\s|$)/m` finds (its unit
 * test holds this to it), in one pass over the `:` and `?` indicators. The pattern backtracks
 * over every run of spaces, and values.yaml is mostly indentation: 0.14 ms for 12 KB.
 */
export function mayHoldOddKey(text: string): boolean {
  for (let i = text.indexOf(':'); i !== -1; i = text.indexOf(':', i + 1))
    if (spaceOrEndAfter(text, i) && oddKeyBefore(text, i)) return true;
  for (let i = text.indexOf('?'); i !== -1; i = text.indexOf('?', i + 1))
    if (spaceOrEndAfter(text, i) && onlySpaceBefore(text, i)) return true;
  return false;
}

function spaceOrEndAfter(text: string, i: number): boolean {
  return i + 1 === text.length || isSpace(text.charCodeAt(i + 1));
}

/** The `:` at `i` follows a space, a flow indicator, a line start, or a null word after one. */
function oddKeyBefore(text: string, i: number): boolean {
  if (i === 0) return true;
  const before = text.charCodeAt(i - 1);
  if (isSpace(before) || FLOW.includes(text[i - 1] as string)) return true;
  for (const word of NULL_WORDS) {
    const start = i - word.length;
    if (start < 0 || !text.startsWith(word, start)) continue;
    if (start === 0 || isSpace(text.charCodeAt(start - 1)) || OPENERS.includes(text[start - 1] as string))
      return true;
  }
  return false;
}

const FLOW = '{,[]}';
const OPENERS = '{,[';
const NULL_WORDS = ['~', 'null', 'Null', 'NULL'];

/** Only white space lies between the `?` at `i` and the start of its line (or of the text). */
function onlySpaceBefore(text: string, i: number): boolean {
  for (let j = i - 1; j >= 0; j--) {
    const c = text.charCodeAt(j);
    if (c === 0x0a || c === 0x0d || c === 0x2028 || c === 0x2029) return true;
    if (!isSpace(c)) return false;
  }
  return true;
}

/** JavaScript's `\s`: what the pattern's `\s` and `^`/`$` (multiline) take as space and line ends. */
function isSpace(c: number): boolean {
  if (c === 0x20 || (c >= 0x09 && c <= 0x0d)) return true;
  if (c < 0xa0) return false;
  return (
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000 ||
    c === 0xfeff
  );
}
