/**
 * Writes a chart archive with the content `helm package` writes (pkg/chartutil/save.go):
 * Chart.yaml re-marshalled from the metadata (v1 charts without `dependencies`), Chart.lock
 * re-marshalled for v2 charts, values.yaml, values.schema.json, templates, the other files,
 * then each subchart as a directory under `charts/<name>/`. Unlike helm it is reproducible:
 * subcharts in name order, mode 0644, uid/gid 0, no user/group names, the given mtime and a
 * gzip header without timestamp, so the same chart always gives the same bytes.
 */
import { createHash } from 'node:crypto';
import { createWriteStream, writeFileSync } from 'node:fs';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip, gzipSync } from 'node:zlib';
import { Header, Pax } from 'tar';
import { compareBytes } from './byte-names.js';
import { ChartError } from './errors.js';
import { CHART_TOO_LARGE, ChartSizeBudget } from './limits.js';
import { renamed } from './load-files.js';
import { marshalLock } from './lock.js';
import { type Decoded, FieldError, METADATA, marshalStruct } from './metadata.js';
import type { ChartFile, LoadedChart } from './model.js';

export async function saveChart(chart: LoadedChart, mtime: Date): Promise<Buffer> {
  return gzipSync(Buffer.concat([...tarBlocks(chart, mtime)]));
}

/**
 * Writes the archive `saveChart` would return into `path` and answers its sha256 and size.
 * Most charts are small: their tar is built in memory and compressed in one call, which spares
 * a round trip to libuv's thread pool per 16 KiB of deflate (the cost that dominated packaging
 * many small charts). Past IN_MEMORY_TAR bytes the rest is streamed, so a large chart never
 * sits in memory whole. Same bytes either way: deflate's output does not depend on how its
 * input is chunked. Synchronous parts block the calling thread: builds run on build threads.
 */
export async function writeChartArchive(
  chart: LoadedChart,
  mtime: Date,
  path: string,
  /** Called after each large file has gone into the stream (build threads free its buffer). */
  reclaim?: () => void,
): Promise<{ digest: string; size: number }> {
  const blocks = tarBlocks(chart, mtime, reclaim);
  const head: Buffer[] = [];
  let held = 0;
  for (let next = blocks.next(); !next.done; next = blocks.next()) {
    head.push(next.value);
    held += next.value.length;
    if (held > IN_MEMORY_TAR) return streamArchive(resume(head, blocks), path);
  }
  const gz = gzipSync(Buffer.concat(head, held));
  writeFileSync(path, gz);
  return { digest: createHash('sha256').update(gz).digest('hex'), size: gz.length };
}

/** Files at least this large are read whole, one at a time (load-dir.ts): reclaimed after use. */
const RECLAIM_AFTER = 1024 * 1024;

/** Archives whose tar is larger than this are streamed to disk instead of built in memory. */
const IN_MEMORY_TAR = 8 * 1024 * 1024;

/** The blocks already taken, then the rest of the started generator, lazily. */
function* resume(taken: Buffer[], rest: Generator<Buffer>): Generator<Buffer> {
  yield* taken;
  for (let next = rest.next(); !next.done; next = rest.next()) yield next.value;
}

async function streamArchive(
  chunks: Iterable<Buffer>,
  path: string,
): Promise<{ digest: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      size += chunk.length;
      done(null, chunk);
    },
  });
  // A byte stream with a small buffer: blocks (and the files in them) are pulled one at a time.
  const tar = Readable.from(chunks, { objectMode: false, highWaterMark: 1 << 20 });
  await pipeline(tar, createGzip(), tap, createWriteStream(path));
  return { digest: hash.digest('hex'), size };
}

/** The uncompressed tar stream, entry by entry, ending with the two zero blocks. */
function* tarBlocks(chart: LoadedChart, mtime: Date, reclaim?: () => void): Generator<Buffer> {
  // Each part may be under the cap while the whole (a chart plus its resolved dependencies) is
  // not: an archive that helm's loader, and chartsync's, would refuse is never written.
  const budget = new ChartSizeBudget();
  for (const entry of archiveEntries(chart, '')) {
    // Read once: a large file's bytes come from disk on each read (see load-dir.ts).
    const data = entry.data;
    if (!budget.take(data.length)) {
      throw new ChartError(chart.metadata.name, entry.name, `${CHART_TOO_LARGE} (with its subcharts)`, {
        reason: 'ChartTooLarge',
      });
    }
    yield* tarEntry(entry.name, data, mtime);
    if (reclaim && data.length >= RECLAIM_AFTER) reclaim();
  }
  yield Buffer.alloc(1024);
}

/** Chart.yaml as helm writes it: Go struct fields only, sorted, v1 without dependencies. */
export function marshalChartYaml(chart: LoadedChart): Buffer {
  const md = { ...chart.metadata } as Decoded;
  if (md.apiVersion === 'v1') delete md.dependencies;
  return Buffer.from(marshalStruct(md, METADATA), 'utf8');
}

/** A marshalled file; what helm cannot save (metadata.ts, throughJson) fails the chart, naming it. */
function marshalled(chart: LoadedChart, file: string, marshal: (chart: LoadedChart) => Buffer): Buffer {
  try {
    return marshal(chart);
  } catch (err) {
    if (!(err instanceof FieldError)) throw err;
    throw new ChartError(chart.metadata.name, file, `${err.message}: helm cannot save it`, { cause: err });
  }
}

/** Every archive entry in helm's order (subcharts by name), with paths under `<prefix><name>/`. */
export function archiveEntries(chart: LoadedChart, prefix: string): ChartFile[] {
  const name = chart.metadata.name;
  if (!name || name.includes('/') || name === '.' || name === '..') {
    throw new ChartError(
      name || chart.source,
      'Chart.yaml',
      `chart name ${JSON.stringify(name)} is not a valid file name`,
    );
  }
  const base = `${prefix}${name}/`;
  const out: ChartFile[] = [
    { name: `${base}Chart.yaml`, data: marshalled(chart, 'Chart.yaml', marshalChartYaml) },
  ];
  const lock = chart.lock;
  if (chart.metadata.apiVersion === 'v2' && lock)
    out.push({ name: `${base}Chart.lock`, data: marshalled(chart, 'Chart.lock', () => marshalLock(lock)) });
  const ordered = [
    ...chart.files.filter((f) => f.name === 'values.yaml'),
    ...chart.files.filter((f) => f.name === 'values.schema.json'),
    ...chart.files.filter((f) => f.name.startsWith('templates/')),
    ...chart.files.filter((f) => !isSpecial(f.name)),
  ];
  for (const f of ordered) out.push(renamed(f, base + f.name));
  const deps = [...chart.dependencies].sort((a, b) => compareBytes(a.metadata.name, b.metadata.name));
  for (const dep of deps) out.push(...archiveEntries(dep, `${base}charts/`));
  return out;
}

function isSpecial(name: string): boolean {
  return name === 'values.yaml' || name === 'values.schema.json' || name.startsWith('templates/');
}

const BLOCK = 512;

/** One regular-file entry: a PAX header first when the path does not fit USTAR. */
function tarEntry(path: string, data: Buffer, mtime: Date): Buffer[] {
  const fields = {
    path,
    mode: 0o644,
    uid: 0,
    gid: 0,
    uname: '',
    gname: '',
    size: data.length,
    mtime,
    type: 'File' as const,
  };
  const header = new Header(fields);
  const headerBlock = Buffer.alloc(BLOCK);
  const needPax = header.encode(headerBlock, 0);
  const out: Buffer[] = [];
  if (needPax) out.push(new Pax({ path }, false).encode());
  out.push(headerBlock, data);
  const pad = (BLOCK - (data.length % BLOCK)) % BLOCK;
  if (pad) out.push(Buffer.alloc(pad));
  return out;
}
