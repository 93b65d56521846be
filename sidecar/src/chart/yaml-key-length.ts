/**
 * go-yaml's limit on implicit mapping keys: its scanner drops a possible key once the `:` after
 * it lies more than 1024 characters past the key's start (anchor and tag included), and the `:`
 * then fails the document ("could not find expected ':'", "mapping values are not allowed in this
 * context", in a flow collection "did not find expected ',' or '}'"). helm refuses such a
 * values.yaml; js-yaml, which reads most of them, has no such limit, and the yaml library counts
 * UTF-16 units where go-yaml counts characters. Only a key written with `?` may be longer.
 */
import { type CST, Parser } from 'yaml';

const KEY_LIMIT = 1024;

/**
 * Whether `text` may hold a key over the limit (a cheap first look): a `:` more than the limit
 * past the start of its line (a key starts on the line of its `:`; UTF-16 units >= characters).
 * A long value after a short key (a certificate, a JSON blob) does not count.
 */
export function mayHoldOverlongKey(text: string): boolean {
  for (let start = 0; start < text.length; ) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    if (end - start > KEY_LIMIT) {
      const colon = text.indexOf(':', start + KEY_LIMIT);
      if (colon !== -1 && colon < end) return true;
    }
    start = end + 1;
  }
  return false;
}

/** The offset of the first implicit key whose `:` is too far from its start, if any. */
export function overlongKey(text: string): number | undefined {
  for (const doc of new Parser().parse(text)) {
    const found = doc.type === 'document' && doc.value ? inToken(text, doc.value) : undefined;
    if (found !== undefined) return found;
  }
  return undefined;
}

function inToken(text: string, token: CST.Token): number | undefined {
  if (token.type !== 'block-map' && token.type !== 'block-seq' && token.type !== 'flow-collection')
    return undefined;
  for (const item of token.items) {
    const over = overlongItem(text, item);
    if (over !== undefined) return over;
    for (const part of [item.key, item.value]) {
      const found = part ? inToken(text, part) : undefined;
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

/** An item `key: value` without `?` whose `:` lies more than the limit past the key's start. */
function overlongItem(text: string, item: CST.CollectionItem): number | undefined {
  if (!item.key || item.start.some((t) => t.type === 'explicit-key-ind')) return undefined;
  const colon = item.sep?.find((t) => t.type === 'map-value-ind');
  if (!colon) return undefined;
  const start = keyStart(item) ?? item.key.offset;
  // characters (code points), as go-yaml's scanner counts its position
  return [...text.slice(start, colon.offset)].length > KEY_LIMIT ? start : undefined;
}

/** The key's first anchor or tag on its own line (go-yaml starts a key at its properties). */
function keyStart(item: CST.CollectionItem): number | undefined {
  let start: number | undefined;
  for (const t of item.start) {
    if (t.type === 'newline') start = undefined;
    else if ((t.type === 'anchor' || t.type === 'tag') && start === undefined) start = t.offset;
  }
  return start;
}
