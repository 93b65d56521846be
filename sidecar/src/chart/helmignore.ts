/**
 * `.helmignore` with helm's exact rules (pkg/ignore), which are not gitignore's: patterns are
 * Go `filepath.Match` globs, the first rule that decides wins, a pattern without `/` matches the
 * base name, a leading `/` anchors at the chart root, a trailing `/` matches directories only,
 * `**` is an error, and `!pattern` ignores every path that does NOT match the pattern.
 */
import { posix } from 'node:path';
import { nameBytes } from './byte-names.js';
import {
  BadPatternError,
  compileGoPattern,
  type GoPattern,
  goMatch,
  MatchBudget,
  MatchBudgetExceeded,
} from './go-match.js';
import { MAX_HELMIGNORE_STEPS } from './limits.js';

export const HELMIGNORE = '.helmignore';

interface Rule {
  raw: string;
  negate: boolean;
  mustDir: boolean;
  /** Matched against the whole chart-relative path (a `/` in the rule) or the base name. */
  wholePath: boolean;
  pattern: GoPattern;
  /**
   * Tries left before an anchored rule can match: helm's matcher strips ONE leading `/` from
   * the pattern it closed over each time it is tried, so `//x` is `/x` on its first try (no
   * chart path starts with `/`) and `x` from the second on. One `/` (the usual case): none.
   */
  unmatchedTries: number;
}

export interface IgnoreRules {
  /** Whether the chart-relative path (forward slashes) is ignored. */
  ignores(path: string, isDir: boolean): boolean;
}

export class HelmignoreError extends Error {
  readonly line: number;
  readonly problem: string;
  constructor(line: number, problem: string) {
    super(`line ${line}: ${problem}`);
    this.name = 'HelmignoreError';
    this.line = line;
    this.problem = problem;
  }
}

/** The rule helm always appends: hidden files and directories under templates/. */
const DEFAULT_RULE = 'templates/.?*';

/**
 * Thrown by `ignores` when the patterns need more matching work than one chart may cost
 * (`maxSteps`, counted over every file of the chart): thousands of star patterns against
 * thousands of long names would otherwise hold the service for minutes.
 */
export class HelmignoreTooCostly extends Error {
  constructor(maxSteps: number) {
    super(
      `matching the patterns against the chart's files needs more than ${maxSteps} steps; use fewer or simpler patterns`,
    );
    this.name = 'HelmignoreTooCostly';
  }
}

/** Parses `.helmignore` text and appends helm's default rule. */
export function parseHelmignore(text: string | undefined, maxSteps = MAX_HELMIGNORE_STEPS): IgnoreRules {
  const rules: Rule[] = [];
  if (text !== undefined) {
    const lines = splitLines(text.replace(/^\uFEFF/, ''));
    lines.forEach((line, i) => {
      const rule = parseRule(line, i + 1);
      if (rule) rules.push(rule);
    });
  }
  const defaults = parseRule(DEFAULT_RULE, 0);
  if (defaults) rules.push(defaults);
  const budget = new MatchBudget(maxSteps);
  return {
    ignores: (path, isDir) => {
      try {
        return ignores(rules, path, isDir, budget);
      } catch (err) {
        if (err instanceof MatchBudgetExceeded) throw new HelmignoreTooCostly(maxSteps);
        throw err;
      }
    },
  };
}

/** bufio.ScanLines: split on \n and drop one trailing \r per line; no final empty line. */
function splitLines(text: string): string[] {
  const lines = text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  if (text.endsWith('\n') || text === '') lines.pop();
  return lines;
}

function ignores(rules: Rule[], path: string, isDir: boolean, budget: MatchBudget): boolean {
  if (path === '' || path === '.' || path === './') return false;
  // Encoded once per path, not once per rule; names that are not UTF-8 as their own bytes.
  const full = nameBytes(path);
  const base = nameBytes(posix.basename(path));
  for (const rule of rules) {
    if (rule.mustDir && !isDir) {
      if (rule.negate) return true;
      continue;
    }
    const matched =
      rule.unmatchedTries > 0
        ? tryUnmatched(rule)
        : safeMatch(rule.pattern, rule.wholePath ? full : base, budget);
    if (rule.negate ? !matched : matched) return true;
  }
  return false;
}

const GO_SPACE =
  /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+|[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/g;

/** Go's strings.TrimSpace: Unicode White_Space at both ends. */
function trimSpace(s: string): string {
  return s.replace(GO_SPACE, '');
}

function parseRule(line: string, lineNo: number): Rule | undefined {
  let rule = trimSpace(line);
  if (rule === '' || rule.startsWith('#')) return undefined;
  if (rule.includes('**')) throw new HelmignoreError(lineNo, 'double-star (**) syntax is not supported');
  try {
    goMatch(rule, 'abc');
  } catch (err) {
    if (err instanceof BadPatternError) throw new HelmignoreError(lineNo, `${err.message}`);
    throw err;
  }
  const raw = rule;
  const negate = rule.startsWith('!');
  if (negate) rule = rule.slice(1);
  const mustDir = rule.endsWith('/');
  if (mustDir) rule = rule.slice(0, -1);
  // A leading `/` anchors at the chart root; any other `/` matches the whole path; else the base name.
  const anchored = rule.startsWith('/');
  const slashes = anchored ? rule.length - rule.replace(/^\/+/, '').length : 0;
  const pattern = compileGoPattern(rule.slice(slashes));
  const unmatchedTries = Math.max(0, slashes - 1);
  return { raw, negate, mustDir, wholePath: anchored || rule.includes('/'), pattern, unmatchedTries };
}

/** One try of a rule that still starts with `/` after helm's strip: it matches nothing. */
function tryUnmatched(rule: Rule): false {
  rule.unmatchedTries--;
  return false;
}

/** Match errors at match time count as "no match", as helm only logs them. */
function safeMatch(pattern: GoPattern, name: Buffer, budget: MatchBudget): boolean {
  try {
    return goMatch(pattern, name, budget);
  } catch (err) {
    if (err instanceof BadPatternError) return false;
    throw err;
  }
}
