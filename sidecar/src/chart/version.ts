/**
 * Chart versions as helm reads them (Masterminds semver `NewVersion`): SemVer 2 plus the loose
 * forms helm has always accepted (`v1.2.3`, `1.2`, `1`), so every chart helm packages packages
 * here too. The one parser and ordering of versions: validation, index entries newest-first and
 * dependency constraints (Masterminds reads versions the same way). Segments are bigints up to
 * uint64 as in Go, so `1.0.9007199254740993` is neither refused nor rounded.
 */

export interface ChartVersion {
  major: bigint;
  minor: bigint;
  patch: bigint;
  prerelease: string;
  metadata: string;
  /** The text it was parsed from (helm records it in Chart.lock; OCI tags are chosen by it). */
  original: string;
}

const MAX_VERSION_LENGTH = 256;
const UINT64_MAX = 2n ** 64n - 1n;
const LOOSE =
  /^v?([0-9]+)(\.[0-9]+)?(\.[0-9]+)?(-([0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*))?(\+([0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*))?$/;

/** Parses a version, or returns the reason it is not one (helm's wording). */
export function parseVersion(text: string): ChartVersion | string {
  if (text.length > MAX_VERSION_LENGTH) return `version string is too long (max ${MAX_VERSION_LENGTH} bytes)`;
  const m = LOOSE.exec(text);
  if (!m) return 'Invalid Semantic Version';
  const [major, minor, patch] = [m[1], m[2], m[3]].map((s) => BigInt(s ? s.replace('.', '') : '0')) as [
    bigint,
    bigint,
    bigint,
  ];
  if (major > UINT64_MAX || minor > UINT64_MAX || patch > UINT64_MAX) return 'error parsing version segment';
  const prerelease = m[5] ?? '';
  const metadata = m[8] ?? '';
  for (const part of prerelease ? prerelease.split('.') : []) {
    if (/^[0-9]+$/.test(part) && part.length > 1 && part.startsWith('0')) {
      return 'Version segment starts with 0';
    }
  }
  return { major, minor, patch, prerelease, metadata, original: text };
}

/** The version, or undefined when `text` is not one (for callers that only need a yes/no). */
export function toVersion(text: string): ChartVersion | undefined {
  const v = parseVersion(text);
  return typeof v === 'string' ? undefined : v;
}

export function isValidVersion(text: string): boolean {
  return typeof parseVersion(text) !== 'string';
}

/** SemVer precedence (build metadata ignored); negative when a < b. */
export function compareVersions(a: ChartVersion, b: ChartVersion): number {
  for (const key of ['major', 'minor', 'patch'] as const) {
    if (a[key] !== b[key]) return a[key] < b[key] ? -1 : 1;
  }
  return comparePrerelease(a.prerelease, b.prerelease);
}

/** SemVer precedence of two prerelease strings ('' = a release, which sorts after any prerelease). */
export function comparePrerelease(a: string, b: string): number {
  if (a === b) return 0;
  if (a === '') return 1;
  if (b === '') return -1;
  const as = a.split('.');
  const bs = b.split('.');
  for (let i = 0; i < Math.max(as.length, bs.length); i++) {
    const x = as[i];
    const y = bs[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    const c = compareIdentifier(x, y);
    if (c !== 0) return c;
  }
  return 0;
}

function compareIdentifier(x: string, y: string): number {
  const xn = /^[0-9]+$/.test(x);
  const yn = /^[0-9]+$/.test(y);
  if (xn && yn) {
    const [bx, by] = [BigInt(x), BigInt(y)];
    return bx === by ? 0 : bx < by ? -1 : 1;
  }
  if (xn) return -1;
  if (yn) return 1;
  return x === y ? 0 : x < y ? -1 : 1;
}
