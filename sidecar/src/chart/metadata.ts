/**
 * Chart.yaml (and requirements.yaml / Chart.lock) as helm's Go structs see them: YAML is
 * decoded with go-yaml v2 rules, then fitted to the struct the way sigs.k8s.io/yaml and
 * encoding/json do it — unknown keys dropped, keys matched case-insensitively, numbers and
 * booleans landing in string fields turned into strings (`1.10` -> "1.1"), nulls ignored.
 * The result is re-marshalled on save exactly like helm re-marshals Chart.yaml.
 */
import { AFTER_GO_UNICODE } from './go-unicode.js';
import { type EmitValue, emitGoYaml } from './go-yaml-emit.js';
import { jsonUnsupported, nonFiniteIn } from './json-conversion.js';
import { formatFloat32, type GoMap, type GoValue } from './yaml.js';

type FieldType =
  | 'string'
  | 'bool'
  | 'strings'
  | 'stringMap'
  | 'anyList'
  | { list: StructSpec; elem: string }
  | { struct: StructSpec; elem: string };

interface FieldSpec {
  type: FieldType;
  /** encoding/json `omitempty`: zero values are left out when marshalling. */
  omitEmpty: boolean;
}
type StructSpec = Record<string, FieldSpec>;

const s = (omitEmpty = true): FieldSpec => ({ type: 'string', omitEmpty });
const MAINTAINER: StructSpec = { name: s(), email: s(), url: s() };
const DEPENDENCY: StructSpec = {
  name: s(false),
  version: s(),
  repository: s(false),
  condition: s(),
  tags: { type: 'strings', omitEmpty: true },
  enabled: { type: 'bool', omitEmpty: true },
  'import-values': { type: 'anyList', omitEmpty: true },
  alias: s(),
};
export const METADATA: StructSpec = {
  name: s(),
  home: s(),
  sources: { type: 'strings', omitEmpty: true },
  version: s(),
  description: s(),
  keywords: { type: 'strings', omitEmpty: true },
  maintainers: { type: { list: MAINTAINER, elem: 'Maintainer' }, omitEmpty: true },
  icon: s(),
  apiVersion: s(),
  condition: s(),
  tags: s(),
  appVersion: s(),
  deprecated: { type: 'bool', omitEmpty: true },
  annotations: { type: 'stringMap', omitEmpty: true },
  kubeVersion: s(),
  dependencies: { type: { list: DEPENDENCY, elem: 'Dependency' }, omitEmpty: true },
  type: s(),
};
export const LOCK: StructSpec = {
  generated: s(false),
  digest: s(false),
  dependencies: { type: { list: DEPENDENCY, elem: 'Dependency' }, omitEmpty: false },
};

/** Why a value does not fit the struct; the caller adds chart and file. */
export class FieldError extends Error {
  constructor(field: string, problem: string) {
    super(`field "${field}": ${problem}`);
    this.name = 'FieldError';
  }
}

/** A decoded struct: present fields only; list entries may be null (a YAML null node). */
export type Decoded = Record<string, unknown>;

/**
 * Fits a go-yaml value onto the struct described by `spec`, on top of `into` (json.Unmarshal
 * into an existing struct overwrites only the fields present).
 */
export function decodeStruct(value: GoValue, spec: StructSpec, path: string, into: Decoded = {}): Decoded {
  if (value === null) return into;
  if (!isGoMap(value)) throw new FieldError(path || '(document)', `expected a map, got ${kindOf(value)}`);
  const out: Decoded = { ...into };
  for (const key of Object.keys(value).sort()) {
    const name = fieldName(spec, key);
    if (!name) {
      // dropped, but only after its value went through JSON (json-conversion.ts)
      failIfNonFinite(value[key] as GoValue, path ? `${path}.${key}` : key);
      continue;
    }
    const fieldPath = path ? `${path}.${name}` : name;
    const decoded = decodeField(value[key] as GoValue, (spec[name] as FieldSpec).type, fieldPath);
    if (decoded === undefined) continue;
    if (decoded === DELETE) delete out[name];
    else out[name] = decoded;
  }
  return out;
}

const DELETE = Symbol('delete');

/**
 * encoding/json field matching: exact name first, then by Unicode simple case folding. Field
 * names are ASCII, and the only other characters that fold to ASCII letters are the long s
 * (U+017F, folds with `s`) and the Kelvin sign (U+212A, with `k`); JavaScript lowercases the
 * Kelvin sign to `k` but leaves the long s.
 */
function fieldName(spec: StructSpec, key: string): string | undefined {
  if (Object.hasOwn(spec, key)) return key;
  const folded = key.replaceAll('\u017f', 's').toLowerCase();
  return Object.keys(spec).find((k) => k.toLowerCase() === folded);
}

function decodeField(value: GoValue, type: FieldType, path: string): unknown {
  if (type === 'string') return value === null ? undefined : toGoString(value, path);
  if (type === 'bool') {
    if (value === null) return undefined;
    if (typeof value !== 'boolean') throw new FieldError(path, `expected a boolean, got ${kindOf(value)}`);
    return value;
  }
  if (value === null) return DELETE;
  if (type === 'strings')
    return expectList(value, path).map((v, i) => (v === null ? '' : toGoString(v, `${path}[${i}]`)));
  if (type === 'anyList') {
    failIfNonFinite(value, path);
    return expectList(value, path).map((v) => toJsonValue(v));
  }
  if (type === 'stringMap') {
    if (!isGoMap(value)) throw new FieldError(path, `expected a map, got ${kindOf(value)}`);
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, v === null ? '' : toGoString(v, `${path}.${k}`)]),
    );
  }
  if ('list' in type) {
    return expectList(value, path).map((v, i) =>
      v === null ? null : decodeStruct(v, type.list, `${path}[${i}]`),
    );
  }
  return decodeStruct(value, type.struct, path);
}

/** A value that reaches encoding/json as it is (no string field to turn it into text). */
function failIfNonFinite(value: GoValue, path: string): void {
  const bad = nonFiniteIn(value);
  if (bad !== undefined) throw new FieldError(path, jsonUnsupported(bad));
}

function expectList(value: GoValue, path: string): GoValue[] {
  if (!Array.isArray(value)) throw new FieldError(path, `expected a list, got ${kindOf(value)}`);
  return value;
}

function isGoMap(v: GoValue): v is GoMap {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function kindOf(v: GoValue): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a map';
  if (typeof v === 'bigint' || typeof v === 'number')
    return `the number ${typeof v === 'number' ? formatFloat32(v) : v}`;
  return `the ${typeof v} ${String(v)}`;
}

/** A scalar landing in a Go string field, converted as sigs.k8s.io/yaml does. */
function toGoString(v: GoValue, path: string): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') return formatFloat32(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  throw new FieldError(path, `expected a string, got ${kindOf(v)}`);
}

/** interface{} values go through JSON: integers become numbers, maps get string keys. */
function toJsonValue(v: GoValue): EmitValue {
  if (typeof v === 'bigint') return Number(v);
  if (Array.isArray(v)) return v.map(toJsonValue);
  if (isGoMap(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toJsonValue(x)]));
  return v;
}

/** The struct as encoding/json marshals it (omitempty applied), ready for the YAML emitter. */
export function encodeStruct(value: Decoded, spec: StructSpec): { [key: string]: EmitValue } {
  const out: { [key: string]: EmitValue } = {};
  for (const [name, field] of Object.entries(spec)) {
    const v = value[name];
    // Without omitempty, an empty list is still a list: Go marshals an empty slice as `[]`
    // and only a nil one (a field that was absent or null) as the zero value, `null`.
    if (isEmpty(v) && !(Array.isArray(v) && !field.omitEmpty)) {
      if (!field.omitEmpty) out[name] = zeroOf(field.type);
      continue;
    }
    const t = field.type;
    if (typeof t === 'object' && 'list' in t) {
      out[name] = (v as (Decoded | null)[]).map((e) => (e === null ? null : encodeStruct(e, t.list)));
    } else if (typeof t === 'object') {
      out[name] = encodeStruct(v as Decoded, t.struct);
    } else {
      out[name] = v as EmitValue;
    }
  }
  return out;
}

/** The struct as helm writes it with sigs.k8s.io/yaml: encoding/json, then go-yaml (throughJson). */
export function marshalStruct(value: Decoded, spec: StructSpec): string {
  return emitGoYaml(throughJson(encodeStruct(value, spec), ''));
}

/** What encoding/json leaves raw and go-yaml's reader refuses (C0 controls are escaped). */
const JSON_REFUSED = /[\x7f-\x84\x86-\x9f\ufffe\uffff]/;
/** NEL runs in a JSON string, with the spaces around them. */
const NEL_RUN = / *\u0085[ \u0085]*/g;

/**
 * sigs.k8s.io/yaml marshals to JSON and has go-yaml read the JSON back before writing YAML, so
 * every string passes go-yaml's reader as a double-quoted scalar: characters it refuses fail
 * the save (helm: "yaml: control characters are not allowed"), and NEL, a line break to it,
 * folds as one (one becomes a space, n of them n-1 newlines, the spaces around them dropped;
 * `---` or `...` right after one is a document marker; none may be in a key).
 */
function throughJson(value: EmitValue, path: string): EmitValue {
  if (typeof value === 'string') return jsonString(value, path, false);
  if (Array.isArray(value)) return value.map((v, i) => throughJson(v, `${path}[${i}]`));
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => {
      const at = path ? `${path}.${k}` : k;
      return [jsonString(k, at, true), throughJson(v, at)];
    }),
  );
}

function jsonString(s: string, path: string, isKey: boolean): string {
  if (JSON_REFUSED.test(s)) throw new FieldError(path, 'control characters are not allowed');
  if (!s.includes('\u0085')) return s;
  if (isKey) throw new FieldError(path, 'a key must not hold a line break (NEL, U+0085)');
  if (/\u0085(---|\.\.\.)[ \u0085]/.test(s))
    throw new FieldError(path, 'found unexpected document indicator');
  return s.replace(NEL_RUN, (run) => {
    const breaks = run.split('\u0085').length - 1;
    return breaks === 1 ? ' ' : '\n'.repeat(breaks - 1);
  });
}

function isEmpty(v: unknown): boolean {
  if (v === undefined || v === null || v === '' || v === false) return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === 'object') return Object.keys(v).length === 0;
  return false;
}

function zeroOf(type: FieldType): EmitValue {
  if (type === 'string') return '';
  if (type === 'bool') return false;
  return null;
}

/** Go's unicode.IsSpace, IsPrint: what Metadata.Validate keeps of free-text fields. */
const GO_SPACE = /[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/gu;
const NOT_PRINTABLE = /[^\p{L}\p{M}\p{N}\p{P}\p{S} ]/gu;

/**
 * helm's sanitizeString: whitespace becomes a space, unprintable characters are dropped, and so
 * are characters newer than Go's Unicode tables (go-unicode.ts), which Go finds unprintable.
 */
export function sanitizeString(text: string): string {
  return text.replace(GO_SPACE, ' ').replace(NOT_PRINTABLE, '').replace(AFTER_GO_UNICODE, '');
}
