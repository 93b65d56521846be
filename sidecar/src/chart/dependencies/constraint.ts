/**
 * Version constraints with the semantics of Masterminds/semver v3, the library helm uses for
 * `dependencies[].version`. node-semver's range grammar differs from it in ways that change
 * which version gets chosen (prerelease opt-in per AND group, `1.2` meaning `~1.2`, `!=`, `=>`,
 * `>1.2` meaning `>=1.3.0`), so the syntax is parsed here exactly as Masterminds parses it;
 * versions are parsed and ordered by the engine's one version module (../version.ts).
 */
import { type ChartVersion, comparePrerelease, compareVersions, toVersion } from '../version.js';

const MAX_CONSTRAINT_LEN = 512;
const MAX_CONSTRAINT_GROUPS = 32;

// The grammar, transcribed from Masterminds' constraints.go so that the same strings are
// accepted and split the same way (including its quirks, such as `|` inside the classes).
const ops = String.raw`=||!=|>|<|>=|=>|<=|=<|~|~>|\^`;
const cv =
  String.raw`v?([0-9|x|X|\*]+)(\.[0-9|x|X|\*]+)?(\.[0-9|x|X|\*]+)?` +
  String.raw`(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?` +
  String.raw`(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?`;
const constraintRe = new RegExp(String.raw`^\s*(${ops})\s*(${cv})\s*$`);
const rangeRe = new RegExp(String.raw`\s*(${cv})\s+-\s+(${cv})\s*`, 'g');
const findRe = new RegExp(String.raw`(${ops})\s*(${cv})`, 'g');
const validRe = new RegExp(String.raw`^(\s*(${ops})\s*(${cv})\s*)((?:\s+|,\s*)(${ops})\s*(${cv})\s*)*$`);

type Op = '' | '=' | '!=' | '>' | '<' | '>=' | '=>' | '<=' | '=<' | '~' | '~>' | '^';

interface Comparator {
  op: Op;
  /** The version as written (`1.x`, `2.0.0-beta`). */
  orig: string;
  con: ChartVersion;
  dirty: boolean;
  minorDirty: boolean;
  patchDirty: boolean;
}

export interface Constraint {
  /** OR groups of AND-ed comparators. */
  groups: Comparator[][];
  /** Per group: does any comparator name a prerelease (then the group admits prereleases)? */
  groupHasPre: boolean[];
  text: string;
}

export class ConstraintError extends Error {
  override name = 'ConstraintError';
}

const isX = (s: string | undefined) => s === 'x' || s === 'X' || s === '*';

/** Parses like Masterminds `NewConstraint`; throws ConstraintError with its wording. */
export function parseConstraint(text: string): Constraint {
  if (text.length > MAX_CONSTRAINT_LEN) {
    throw new ConstraintError(`constraint string is too long (max ${MAX_CONSTRAINT_LEN} bytes)`);
  }
  const ors = rewriteRanges(text).split('||');
  if (ors.length > MAX_CONSTRAINT_GROUPS) {
    throw new ConstraintError(`too many constraint groups (max ${MAX_CONSTRAINT_GROUPS})`);
  }
  const groups = ors.map((segment) => {
    if (!validRe.test(segment)) throw new ConstraintError(`improper constraint: "${segment}"`);
    const parts = segment.match(findRe) ?? [segment];
    return parts.map(parseComparator);
  });
  return { groups, groupHasPre: groups.map((g) => g.some((c) => c.con.prerelease !== '')), text };
}

function rewriteRanges(text: string): string {
  let out = text;
  for (const m of text.matchAll(rangeRe)) {
    out = out.replace(m[0], `>= ${m[1]}, <= ${m[11]} `);
  }
  return out;
}

function parseComparator(text: string): Comparator {
  const m = constraintRe.exec(text);
  if (!m) throw new ConstraintError(`improper constraint: "${text}"`);
  const op = (m[1] ?? '') as Op;
  const orig = m[2] ?? '';
  const pre = m[6] ?? '';
  const [maj, min, pat] = [m[3], m[4]?.slice(1), m[5]?.slice(1)];
  let ver = orig;
  let dirty = false;
  let minorDirty = false;
  let patchDirty = false;
  if (isX(maj) || !maj) {
    ver = `0.0.0${pre}`;
    dirty = true;
  } else if (isX(min) || !min) {
    ver = `${maj}.0.0${pre}`;
    dirty = minorDirty = true;
  } else if (isX(pat) || !pat) {
    ver = `${maj}.${min}.0${pre}`;
    dirty = patchDirty = true;
  }
  const con = toVersion(ver);
  if (!con) throw new ConstraintError(`improper constraint: "${text}"`);
  return { op, orig, con, dirty, minorDirty, patchDirty };
}

/** Does `version` satisfy the constraint (Masterminds `Constraints.Check`)? */
export function satisfies(version: ChartVersion, constraint: Constraint): boolean {
  return constraint.groups.some((group, i) => {
    // A prerelease only matches groups that name a prerelease themselves.
    if (version.prerelease !== '' && !constraint.groupHasPre[i]) return false;
    return group.every((c) => checkComparator(version, c));
  });
}

function checkComparator(v: ChartVersion, c: Comparator): boolean {
  switch (c.op) {
    case '':
    case '=':
      return c.dirty ? tilde(v, c) : compareVersions(v, c.con) === 0;
    case '!=':
      return notEqual(v, c);
    case '>':
      return greaterThan(v, c);
    case '<':
      return compareVersions(v, c.con) < 0;
    case '>=':
    case '=>':
      return compareVersions(v, c.con) >= 0;
    case '<=':
    case '=<':
      return lessThanEqual(v, c);
    case '~':
    case '~>':
      return tilde(v, c);
    case '^':
      return caret(v, c);
  }
}

function notEqual(v: ChartVersion, c: Comparator): boolean {
  if (c.dirty) {
    if (c.con.major !== v.major) return true;
    if (c.minorDirty) return false;
    if (c.con.minor !== v.minor) return true;
    if (c.patchDirty)
      return (
        (v.prerelease !== '' || c.con.prerelease !== '') &&
        comparePrerelease(v.prerelease, c.con.prerelease) !== 0
      );
  }
  return compareVersions(v, c.con) !== 0;
}

function greaterThan(v: ChartVersion, c: Comparator): boolean {
  if (!c.dirty) return compareVersions(v, c.con) > 0;
  if (v.major !== c.con.major) return v.major > c.con.major;
  // `>1` needs 2.0.0 or higher; `>1.2` needs 1.3.0 or higher.
  if (c.minorDirty) return false;
  if (c.patchDirty) return v.minor > c.con.minor;
  return compareVersions(v, c.con) > 0;
}

function lessThanEqual(v: ChartVersion, c: Comparator): boolean {
  if (!c.dirty) return compareVersions(v, c.con) <= 0;
  if (v.major > c.con.major) return false;
  return !(v.major === c.con.major && v.minor > c.con.minor && !c.minorDirty);
}

// ~1.2.3 is >=1.2.3 <1.3.0; ~1 and ~1.x are >=1.0.0 <2.0.0; ~0.0.0 and ~* match anything.
function tilde(v: ChartVersion, c: Comparator): boolean {
  if (compareVersions(v, c.con) < 0) return false;
  const zero = c.con.major === 0n && c.con.minor === 0n && c.con.patch === 0n;
  if (zero && !c.minorDirty && !c.patchDirty) return true;
  if (v.major !== c.con.major) return false;
  return v.minor === c.con.minor || c.minorDirty;
}

// ^1.2.3 is >=1.2.3 <2.0.0; ^0.2.3 is >=0.2.3 <0.3.0; ^0.0.3 is =0.0.3; ^0 is <1.0.0.
function caret(v: ChartVersion, c: Comparator): boolean {
  if (compareVersions(v, c.con) < 0) return false;
  if (c.con.major > 0n || c.minorDirty) return v.major === c.con.major;
  if (v.major > 0n) return false;
  if (c.con.minor > 0n || c.patchDirty) return v.minor === c.con.minor;
  if (v.minor > 0n) return false;
  return v.patch === c.con.patch;
}
