/**
 * JSON encoding byte-compatible with Go's `encoding/json`, as far as helm's lock digest needs
 * it: Go escapes `<`, `>`, `&`, U+2028 and U+2029, sorts map keys, and writes struct fields in
 * declaration order, skipping `omitempty` ones that are empty. A digest over different bytes
 * would never match a Chart.lock written by helm.
 */

/** A Go struct: fields in declaration order; `omitEmpty` fields are dropped when empty. */
export interface GoField {
  key: string;
  value: unknown;
  omitEmpty?: boolean;
}

export class GoStruct {
  readonly fields: GoField[];
  constructor(fields: GoField[]) {
    this.fields = fields;
  }
}

const htmlUnsafe = /[<>&\u2028\u2029]/g;

function marshalString(s: string): string {
  return JSON.stringify(s).replace(htmlUnsafe, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function isEmpty(value: unknown): boolean {
  if (value === undefined || value === null || value === false || value === 0 || value === '') return true;
  if (Array.isArray(value)) return value.length === 0;
  return false;
}

/** Encodes a value the way `json.Marshal` encodes the Go value it would have been decoded into. */
export function goJsonMarshal(value: unknown): string {
  if (value instanceof GoStruct) {
    const parts = value.fields
      .filter((f) => !(f.omitEmpty && isEmpty(f.value)))
      .map((f) => `${marshalString(f.key)}:${goJsonMarshal(f.value)}`);
    return `{${parts.join(',')}}`;
  }
  if (value === undefined || value === null) return 'null';
  if (typeof value === 'string') return marshalString(value);
  if (typeof value === 'number' || typeof value === 'boolean') return JSON.stringify(value);
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return `[${value.map(goJsonMarshal).join(',')}]`;
  if (value instanceof Date) return marshalString(value.toISOString());
  if (typeof value === 'object') {
    const keys = Object.keys(value).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    const record = value as Record<string, unknown>;
    return `{${keys.map((k) => `${marshalString(k)}:${goJsonMarshal(record[k])}`).join(',')}}`;
  }
  return marshalString(String(value));
}
