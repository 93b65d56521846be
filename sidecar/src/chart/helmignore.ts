/**
 * `.helmignore` with helm's exact rules (pkg/ignore), which are not gitignore's: patterns are
 * Go `filepath.Match` globs, the first rule that decides wins, a pattern without `/` matches the
 * base name, a leading `/` anchors at the chart root, a trailing `/` matches directories only,
 * `**` is an error, and `!pattern` ignores every path that does NOT match the pattern.
 */
import { posix } from 'node:path';
import { BadPatternError, goMatch } from './go-match.js';

export const HELMIGNORE = '.helmignore';

interface Rule {
  raw: string;
  negate: boolean;
  mustDir: boolean;
  match: (path: string) => boolean;
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

/** Parses `.helmignore` text and appends helm's default rule. */
export function parseHelmignore(text: string | undefined): IgnoreRules {
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
  return { ignores: (path, isDir) => ignores(rules, path, isDir) };
}

/** bufio.ScanLines: split on \n and drop one trailing \r per line; no final empty line. */
function splitLines(text: string): string[] {
  const lines = text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  if (text.endsWith('\n') || text === '') lines.pop();
  return lines;
}

function ignores(rules: Rule[], path: string, isDir: boolean): boolean {
  if (path === '' || path === '.' || path === './') return false;
  for (const rule of rules) {
    if (rule.negate) {
      if (rule.mustDir && !isDir) return true;
      if (!rule.match(path)) return true;
      continue;
    }
    if (rule.mustDir && !isDir) continue;
    if (rule.match(path)) return true;
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
  return { raw, negate, mustDir, match: matcherFor(rule) };
}

/** Match errors at match time count as "no match", as helm only logs them. */
function safeMatch(pattern: string, name: string): boolean {
  try {
    return goMatch(pattern, name);
  } catch {
    return false;
  }
}

function matcherFor(rule: string): (path: string) => boolean {
  if (rule.startsWith('/')) {
    const anchored = rule.slice(1);
    return (path) => safeMatch(anchored, path);
  }
  if (rule.includes('/')) return (path) => safeMatch(rule, path);
  return (path) => safeMatch(rule, posix.basename(path));
}
