/**
 * Chart.lock / requirements.lock. Helm parses the lock into its Go struct and, for apiVersion v2
 * charts, writes it back re-marshalled; `generated` goes through Go's time.Time, so it is
 * normalised the same way (RFC 3339, fraction without trailing zeros, `Z` for UTC).
 */
import { type Decoded, decodeStruct, LOCK, marshalStruct } from './metadata.js';
import type { ChartLock } from './model.js';
import { daysInMonth, type GoValue } from './yaml.js';

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** Go's time.Time JSON round trip of an RFC 3339 timestamp; throws on anything else. */
export function normaliseGoTime(text: string): string {
  const m = RFC3339.exec(text);
  if (!m) throw new Error(`generated: ${JSON.stringify(text)} is not an RFC 3339 timestamp`);
  const [, y, mo, d, h, mi, sec, frac = '', zone = 'Z'] = m;
  const problem = outOfRange(Number(y), Number(mo), Number(d), Number(h), Number(mi), Number(sec));
  if (problem) throw new Error(`generated: ${JSON.stringify(text)}: ${problem} out of range`);
  const offset = goOffset(zone);
  if (offset === undefined)
    throw new Error(`generated: ${JSON.stringify(text)}: time zone offset out of range`);
  // Go keeps nanoseconds: further digits are dropped, trailing zeros are not written
  const fraction = frac.slice(0, 10).replace(/0+$/, '');
  return `${y}-${mo}-${d}T${h}:${mi}:${sec}${fraction === '.' ? '' : fraction}${offset}`;
}

/** What Go's time parsing refuses in a well-formed RFC 3339 timestamp (no leap seconds). */
function outOfRange(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
): string | undefined {
  if (month < 1 || month > 12) return 'month';
  if (day < 1 || day > daysInMonth(year, month)) return 'day';
  if (hour > 23) return 'hour';
  if (minute > 59) return 'minute';
  if (second > 59) return 'second';
  return undefined;
}

/**
 * The offset as Go writes it back: `Z` for zero, else hours and minutes recomputed (Go reads
 * hours 00-23 and minutes 00-60, so `-05:60` is `-06:00`, and `+23:60` is read but cannot be
 * written: undefined, as for the offsets it refuses).
 */
function goOffset(zone: string): string | undefined {
  if (zone === 'Z') return 'Z';
  const hours = Number(zone.slice(1, 3));
  const minutes = Number(zone.slice(4));
  const total = hours * 60 + minutes;
  if (hours > 23 || minutes > 60 || total >= 24 * 60) return undefined;
  if (total === 0) return 'Z';
  const two = (n: number) => String(n).padStart(2, '0');
  return `${zone[0]}${two(Math.floor(total / 60))}:${two(total % 60)}`;
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
