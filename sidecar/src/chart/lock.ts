/**
 * Chart.lock / requirements.lock. Helm parses the lock into its Go struct and, for apiVersion v2
 * charts, writes it back re-marshalled; `generated` goes through Go's time.Time, so it is
 * normalised the same way (RFC 3339, fraction without trailing zeros, `Z` for UTC).
 */
import { type Decoded, decodeStruct, LOCK, marshalStruct } from './metadata.js';
import type { ChartLock } from './model.js';
import type { GoValue } from './yaml.js';

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** Go's time.Time JSON round trip of an RFC 3339 timestamp; throws on anything else. */
export function normaliseGoTime(text: string): string {
  const m = RFC3339.exec(text);
  if (!m) throw new Error(`generated: ${JSON.stringify(text)} is not an RFC 3339 timestamp`);
  const [, y, mo, d, h, mi, sec, frac = '', zone = 'Z'] = m;
  const fraction = frac.replace(/0+$/, '');
  const offset = zone === '+00:00' || zone === '-00:00' ? 'Z' : zone;
  return `${y}-${mo}-${d}T${h}:${mi}:${sec}${fraction === '.' ? '' : fraction}${offset}`;
}

const ZERO_TIME = '0001-01-01T00:00:00Z';

/** Decodes a lock file (already parsed with go-yaml rules). */
export function decodeLock(value: GoValue): ChartLock {
  const decoded = decodeStruct(value, LOCK, '');
  const generated = typeof decoded.generated === 'string' ? normaliseGoTime(decoded.generated) : ZERO_TIME;
  return {
    ...(decoded as Record<string, unknown>),
    generated,
    digest: typeof decoded.digest === 'string' ? decoded.digest : '',
  } as ChartLock;
}

/** Chart.lock as helm writes it into a package. */
export function marshalLock(lock: ChartLock): Buffer {
  return Buffer.from(marshalStruct(lock as unknown as Decoded, LOCK), 'utf8');
}
