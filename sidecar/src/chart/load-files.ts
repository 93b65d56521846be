/**
 * Turns a chart's files (from a directory walk or an archive) into a LoadedChart, with helm's
 * LoadFiles semantics: which file is metadata, values, schema, lock or template, how
 * requirements.yaml/lock are treated per apiVersion, and how `charts/` entries become subcharts
 * (directories and `.tgz` archives; names starting with `_` or `.` are skipped).
 */
import { posix } from 'node:path';
import { compareBytes } from './byte-names.js';
import { ChartError } from './errors.js';
import { jsonUnsupported, mayHoldNonFinite, nonFiniteIn } from './json-conversion.js';
import { decodeLock } from './lock.js';
import { type Decoded, decodeStruct, FieldError, METADATA } from './metadata.js';
import type { ChartFile, ChartLock, ChartMetadata, LoadedChart } from './model.js';
import { checkMetadata } from './validate.js';
import { checkYamlDocument, type GoValue, parseGoYaml, YamlError } from './yaml.js';

/** Loads a `.tgz` subchart; injected to keep this module free of archive I/O. */
export type ArchiveLoader = (data: Buffer, source: string) => Promise<LoadedChart>;

export async function loadFiles(
  files: ChartFile[],
  source: string,
  loadArchive: ArchiveLoader,
): Promise<LoadedChart> {
  const chartYaml = files.find((f) => f.name === 'Chart.yaml');
  if (!chartYaml) throw new ChartError(source, 'Chart.yaml', 'Chart.yaml file is missing');
  let metadata = decodeMetadata(chartYaml, source);
  if (!metadata.apiVersion) metadata.apiVersion = 'v1';
  const label = () => (metadata.name as string | undefined) || source;

  let lock: ChartLock | undefined;
  const kept: ChartFile[] = [];
  const subcharts = new Map<string, ChartFile[]>();
  for (const f of files) {
    if (f.name === 'Chart.yaml') continue;
    if (f.name === 'Chart.lock') {
      lock = readLock(f, label());
    } else if (f.name === 'values.yaml') {
      checkValues(f, label());
      kept.push(f);
    } else if (f.name === 'requirements.yaml') {
      metadata = decodeMetadata(f, label(), metadata as Decoded);
      if (metadata.apiVersion === 'v1') kept.push(f);
    } else if (f.name === 'requirements.lock') {
      lock = readLock(f, label());
      if (metadata.apiVersion === 'v1') kept.push(f);
    } else if (f.name.startsWith('charts/') && posix.extname(f.name) !== '.prov') {
      const rest = f.name.slice('charts/'.length);
      const cname = rest.split('/', 1)[0] as string;
      const group = subcharts.get(cname) ?? [];
      group.push(renamed(f, rest));
      subcharts.set(cname, group);
    } else {
      kept.push(f);
    }
  }
  const problem = checkMetadata(metadata);
  if (problem) throw new ChartError(label(), 'Chart.yaml', problem);

  const dependencies: LoadedChart[] = [];
  for (const [cname, group] of [...subcharts].sort(([a], [b]) => compareBytes(a, b))) {
    if (cname.startsWith('_') || cname.startsWith('.')) continue;
    dependencies.push(await loadSubchart(cname, group, `${source}/charts/${cname}`, label(), loadArchive));
  }
  const chart: LoadedChart = { metadata, files: kept, dependencies, source };
  if (lock) chart.lock = lock;
  return chart;
}

async function loadSubchart(
  cname: string,
  group: ChartFile[],
  source: string,
  parent: string,
  loadArchive: ArchiveLoader,
): Promise<LoadedChart> {
  const where = `charts/${cname}`;
  try {
    if (posix.extname(cname) === '.tgz') {
      const file = group[0] as ChartFile;
      if (file.name !== cname)
        throw new ChartError(parent, where, `expected an archive, found a directory named ${cname}`);
      return await loadArchive(file.data, source);
    }
    const inner = group
      .filter((f) => f.name.includes('/'))
      .map((f) => renamed(f, f.name.slice(cname.length + 1)));
    return await loadFiles(inner, source, loadArchive);
  } catch (err) {
    if (err instanceof ChartError && err.chart !== parent) {
      throw new ChartError(
        parent,
        `${where}/${err.file}`.replace(/\/\.$/, ''),
        `subchart ${err.chart}: ${err.problem}`,
        // The subchart's reason is the chart's: a subchart too large makes the chart too large.
        { cause: err, ...(err.reason ? { reason: err.reason } : {}) },
      );
    }
    throw err;
  }
}

/**
 * The text of a YAML file helm parses. go-yaml refuses bytes that are not UTF-8 ("invalid
 * leading UTF-8 octet"), so they are refused here too instead of becoming U+FFFD.
 */
function yamlText(file: ChartFile, chart: string): string {
  try {
    return STRICT_UTF8.decode(file.data);
  } catch {
    throw new ChartError(chart, file.name, 'invalid YAML: the file is not valid UTF-8');
  }
}
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function parse(file: ChartFile, chart: string): GoValue {
  const text = yamlText(file, chart);
  try {
    return parseGoYaml(text, file.name);
  } catch (err) {
    if (err instanceof YamlError) throw yamlChartError(chart, file, err);
    throw err;
  }
}

function yamlChartError(chart: string, file: ChartFile, err: YamlError): ChartError {
  const at = err.line ? `line ${err.line}: ` : '';
  return new ChartError(chart, file.name, `invalid YAML: ${at}${err.problem}`, { cause: err });
}

function decodeMetadata(file: ChartFile, chart: string, into?: Decoded): ChartMetadata {
  const value = parse(file, chart);
  try {
    return decodeStruct(value, METADATA, '', into) as ChartMetadata;
  } catch (err) {
    if (!(err instanceof FieldError)) throw err;
    // Another field is wrong, but the name usually is fine: name the chart by it.
    const name =
      value !== null && typeof value === 'object' && !Array.isArray(value) ? value.name : undefined;
    throw new ChartError(typeof name === 'string' && name ? name : chart, file.name, err.message, {
      cause: err,
    });
  }
}

/**
 * An empty lock file (or one holding only `null`) is no lock: helm decodes it into a pointer,
 * which JSON's null leaves nil, so no Chart.lock is written.
 */
function readLock(file: ChartFile, chart: string): ChartLock | undefined {
  try {
    const value = parse(file, chart);
    return value === null ? undefined : decodeLock(value);
  } catch (err) {
    if (err instanceof ChartError) throw err;
    throw new ChartError(chart, file.name, (err as Error).message, { cause: err });
  }
}

/** values.yaml must be a map (or empty), as helm unmarshals it into map[string]interface{}. */
function checkValues(file: ChartFile, chart: string): void {
  let kind: string;
  const text = yamlText(file, chart);
  try {
    kind = checkYamlDocument(text, file.name);
  } catch (err) {
    if (err instanceof YamlError) throw yamlChartError(chart, file, err);
    throw err;
  }
  if (kind === 'other') {
    throw new ChartError(chart, file.name, 'values must be a YAML map at the top level');
  }
  // helm decodes the first document through JSON: a NaN or infinity in it fails the file
  // (json-conversion.ts); the text is only parsed again when it spells one
  if (kind === 'map' && mayHoldNonFinite(text)) {
    const bad = nonFiniteIn(parse(file, chart));
    if (bad !== undefined) throw new ChartError(chart, file.name, jsonUnsupported(bad));
  }
}

/**
 * The file under another name, without reading it: a file whose bytes are read on use (a large
 * file of a chart directory, see load-dir.ts) stays unread until the archive is written.
 */
export function renamed(file: ChartFile, name: string): ChartFile {
  return Object.create(file, { name: { value: name, enumerable: true } }) as ChartFile;
}

const UTF8_BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/** helm strips a UTF-8 byte order mark from every file it loads. */
export function stripBom(data: Buffer): Buffer {
  return data.subarray(0, 3).equals(UTF8_BOM) ? data.subarray(3) : data;
}
