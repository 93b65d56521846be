/**
 * Loads a chart archive (`.tgz`) safely, with helm's LoadArchive semantics: the first path
 * component is the chart directory and is dropped, directories and PAX headers are skipped,
 * BOMs are stripped. Refused with a clear error: absolute paths, `..`, drive letters, link
 * entries (helm would silently load them as empty files), and anything over helm's caps of
 * 5 MiB per file and 100 MiB per chart, checked while decompressing (decompression bombs).
 */
import { posix } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Parser, type ReadEntry } from 'tar';
import { ChartError } from './errors.js';
import { CHART_TOO_LARGE, ChartSizeBudget, MAX_DECOMPRESSED_FILE_SIZE } from './limits.js';
import { loadFiles, stripBom } from './load-files.js';
import type { ChartFile, LoadedChart } from './model.js';

/** Room for tar headers and padding on top of the content cap. */
const TAR_OVERHEAD = 16 * 1024 * 1024;
const FILE_TYPES = new Set(['File', 'OldFile', 'ContiguousFile']);

export async function loadChartArchive(data: Buffer, source: string): Promise<LoadedChart> {
  return loadArchive(data, source);
}

/**
 * Loads an archive and its nested subchart archives within one `budget`: the archive's own, or
 * the budget of the chart that holds it (a chart directory's walk, an outer archive).
 */
export async function loadArchive(
  data: Buffer,
  source: string,
  budget = new ChartSizeBudget(),
): Promise<LoadedChart> {
  const files = readArchiveFiles(data, source, budget);
  return loadFiles(files, source, (inner, innerSource) => loadArchive(inner, innerSource, budget));
}

/** The files of a chart archive, with paths relative to the chart directory. */
export function readArchiveFiles(data: Buffer, source: string, budget = new ChartSizeBudget()): ChartFile[] {
  const tar = gunzip(data, source, budget.left);
  const files: ChartFile[] = [];
  let failure: ChartError | undefined;
  const fail = (file: string, problem: string, reason?: 'ChartTooLarge') => {
    failure ??= new ChartError(source, file, problem, reason ? { reason } : {});
  };
  const parser = new Parser({
    strict: true,
    onwarn: (_code, message) => fail('.', `corrupt tar archive: ${String(message)}`),
  });
  parser.on('entry', (entry: ReadEntry) => {
    if (failure || entry.type === 'Directory') return void entry.resume();
    const name = checkEntry(entry);
    if (typeof name !== 'string') {
      fail(entry.path, name.problem);
      return void entry.resume();
    }
    const size = entry.size ?? 0;
    if (size > MAX_DECOMPRESSED_FILE_SIZE) {
      fail(name, `file is larger than the maximum file size ${MAX_DECOMPRESSED_FILE_SIZE}`, 'ChartTooLarge');
      return void entry.resume();
    }
    if (!budget.take(size)) {
      fail(name, CHART_TOO_LARGE, 'ChartTooLarge');
      return void entry.resume();
    }
    const chunks: Buffer[] = [];
    entry.on('data', (chunk: Buffer) => chunks.push(chunk));
    entry.on('end', () => files.push({ name, data: stripBom(Buffer.concat(chunks)) }));
  });
  parser.on('error', (err: Error) => fail('.', `corrupt tar archive: ${err.message}`));
  parser.end(tar);
  if (failure) throw failure;
  if (files.length === 0) throw new ChartError(source, '.', 'no files in chart archive');
  return files;
}

/** Decompresses at most what the remaining budget (`left`) could hold, plus tar's overhead. */
function gunzip(data: Buffer, source: string, left: number): Buffer {
  if (data.length < 3 || data[0] !== 0x1f || data[1] !== 0x8b || data[2] !== 0x08) {
    throw new ChartError(source, '.', 'not a gzipped archive');
  }
  try {
    return gunzipSync(data, { maxOutputLength: left + TAR_OVERHEAD });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) {
      throw new ChartError(source, '.', CHART_TOO_LARGE, { reason: 'ChartTooLarge' });
    }
    throw new ChartError(source, '.', `corrupt gzip data: ${e.message}`);
  }
}

/** Go's path.Clean. */
function goClean(p: string): string {
  const n = posix.normalize(p);
  return n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n;
}

/** The chart-relative name of an entry, or why it is refused (helm's checks plus links). */
function checkEntry(entry: ReadEntry): string | { problem: string } {
  if (!FILE_TYPES.has(entry.type)) {
    const kind = entry.type === 'SymbolicLink' || entry.type === 'Link' ? 'link' : `${entry.type}`;
    return { problem: `archive contains a ${kind} entry; only regular files are allowed` };
  }
  const raw = entry.path;
  if (raw.startsWith('/') || /^[a-zA-Z]:/.test(raw)) return { problem: 'archive entry has an absolute path' };
  const delimiter = raw.includes('\\') ? '\\' : '/';
  const parts = raw.split(delimiter);
  const joined = parts.slice(1).join('/');
  if (joined.startsWith('/')) return { problem: 'archive entry has an absolute path' };
  const name = goClean(joined);
  if (name === '.') return { problem: 'archive entry lies outside the chart directory' };
  if (name.startsWith('..')) return { problem: 'archive entry references the parent directory (..)' };
  if (/^[a-zA-Z]:\//.test(name)) return { problem: 'archive entry has a drive-letter path' };
  if (parts[0] === 'Chart.yaml') return { problem: 'Chart.yaml is not inside the chart directory' };
  return name;
}
