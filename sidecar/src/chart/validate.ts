/**
 * Chart metadata validation: helm's Metadata.Validate (which also sanitises free-text fields,
 * so it runs on load exactly like helm's loader) plus the checks `helm package` adds (a
 * SemVer version) and one helm only lints for: apiVersion must be v1 or v2.
 */
import { ChartError } from './errors.js';
import { GO_JSON_MAX_DEPTH, MAX_ARCHIVE_NAME_BYTES } from './limits.js';
import { sanitizeString } from './metadata.js';
import type { ChartDependency, ChartMetadata, LoadedChart } from './model.js';
import { parseVersion } from './version.js';

const ALIAS = /^[a-zA-Z0-9_-]+$/;
const SANITIZED_FIELDS = [
  'name',
  'description',
  'home',
  'icon',
  'condition',
  'tags',
  'appVersion',
  'kubeVersion',
];

/** Sanitises like helm's Validate does and returns the problem, if any (helm's order of checks). */
export function checkMetadata(md: ChartMetadata): string | undefined {
  for (const field of SANITIZED_FIELDS) {
    if (typeof md[field] === 'string') md[field] = sanitizeString(md[field] as string);
  }
  for (const list of ['sources', 'keywords']) {
    const value = md[list];
    if (Array.isArray(value)) md[list] = value.map((v: string) => sanitizeString(v));
  }
  if (!md.apiVersion) return 'apiVersion is required';
  if (!md.name) return 'name is required';
  if (md.name === '.' || md.name === '..') return `name ${JSON.stringify(md.name)} is not allowed`;
  if (md.name.includes('/')) return `name ${JSON.stringify(md.name)} is invalid: it must not contain "/"`;
  if (!md.version) return 'version is required';
  const version = parseVersion(md.version);
  if (typeof version === 'string') {
    return `version ${JSON.stringify(md.version)} is not a valid SemVer 2 version (${version})`;
  }
  const type = md.type;
  if (type !== undefined && type !== '' && type !== 'application' && type !== 'library') {
    return `type ${JSON.stringify(type)} is invalid: it must be "application" or "library"`;
  }
  const maintainers = (md.maintainers ?? []) as (Record<string, string> | null)[];
  for (const m of maintainers) {
    if (m === null) return 'maintainers must not contain empty or null entries';
    for (const k of ['name', 'email', 'url']) if (typeof m[k] === 'string') m[k] = sanitizeString(m[k]);
  }
  return checkDependencies(md.dependencies ?? []);
}

function checkDependencies(deps: (ChartDependency | null)[]): string | undefined {
  const seen = new Set<string>();
  for (const dep of deps) {
    if (dep === null) return 'dependencies must not contain empty or null entries';
    for (const k of ['name', 'version', 'repository', 'condition'] as const) {
      if (typeof dep[k] === 'string') dep[k] = sanitizeString(dep[k]);
    }
    if (dep.tags) dep.tags = dep.tags.map(sanitizeString);
    if (dep.alias && !ALIAS.test(dep.alias)) {
      return `dependency ${JSON.stringify(dep.name)} has disallowed characters in the alias ${JSON.stringify(dep.alias)}`;
    }
    const key = dep.alias || dep.name;
    if (seen.has(key)) return `more than one dependency with name or alias ${JSON.stringify(key)}`;
    seen.add(key);
  }
  return undefined;
}

/** The apiVersion check helm leaves to `helm lint`: anything else cannot be installed. */
export function checkApiVersion(md: ChartMetadata): string | undefined {
  if (md.apiVersion !== 'v1' && md.apiVersion !== 'v2') {
    return `apiVersion ${JSON.stringify(md.apiVersion)} is invalid: it must be "v1" or "v2"`;
  }
  return undefined;
}

/**
 * The names chartsync publishes: helm create's chart-name rule (chartutil: letters, digits,
 * `.`, `_`, `-`) with a letter or digit first. `helm package` takes any name without a `/`, but
 * the rest cannot live in a chart repository: `.x` is a hidden file no server lists, `_x` and
 * `.x` are skipped by helm's own loader as subcharts, `-x` reads as an option, and spaces,
 * `%`, `\` or non-ASCII letters break or alias URLs and file names.
 */
const SERVABLE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** The archive file name of a chart version, as every publishing target names it. */
export function archiveFileName(chart: { name: string; version: string }): string {
  return `${chart.name}-${chart.version}.tgz`;
}

/**
 * Whether a chart (already valid for helm) can be published and served as
 * `<name>-<version>.tgz`: the name rule above, and a file name short enough for every storage.
 */
export function checkServable(md: ChartMetadata): string | undefined {
  if (!SERVABLE_NAME.test(md.name)) {
    return `name ${JSON.stringify(md.name)} cannot be published: a chart name must start with a letter or digit and hold only letters, digits, ".", "_" and "-" (helm create's rule)`;
  }
  const bytes = Buffer.byteLength(archiveFileName(md));
  if (bytes > MAX_ARCHIVE_NAME_BYTES) {
    return `name ${JSON.stringify(md.name)} with version ${JSON.stringify(md.version)} makes an archive file name of ${bytes} bytes; at most ${MAX_ARCHIVE_NAME_BYTES} can be stored`;
  }
  return undefined;
}

/** Validates a loaded chart and its subcharts; throws a ChartError naming chart, file and problem. */
export function validateChart(chart: LoadedChart): void {
  const md = chart.metadata;
  const problem = checkMetadata(md) ?? checkApiVersion(md);
  if (problem) throw new ChartError(md.name || chart.source, 'Chart.yaml', problem);
  const schema = chart.files.find((f) => f.name === 'values.schema.json');
  if (schema && !isValidJson(schema.data)) {
    throw new ChartError(md.name, 'values.schema.json', 'invalid JSON');
  }
  for (const dep of chart.dependencies) validateChart(dep);
}

function isValidJson(data: Buffer): boolean {
  const text = data.toString('utf8');
  try {
    JSON.parse(text);
  } catch {
    return false;
  }
  // Go's JSON scanner (helm's json.Valid) refuses deeper nesting; JSON.parse does not
  return !jsonNestingOver(text, GO_JSON_MAX_DEPTH);
}

/** Whether valid JSON `text` nests arrays and objects deeper than `limit`. */
function jsonNestingOver(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if ((c === '[' || c === '{') && ++depth > limit) return true;
    else if (c === ']' || c === '}') depth--;
  }
  return false;
}
