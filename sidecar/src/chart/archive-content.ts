/**
 * Compares two chart archives by content: the same entries with the same bytes and types,
 * whatever their timestamps. Two builds of identical sources from different commits differ only
 * in entry mtimes (taken from the commit), which must not count as a version conflict.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Parser, type ReadEntry } from 'tar';

/** `archive`: the bytes, or the path of the file holding them (streamed, never read whole). */
async function contentDigest(archive: Buffer | string): Promise<string> {
  const entries: string[] = [];
  const parser = new Parser({
    onReadEntry: (entry: ReadEntry) => {
      const hash = createHash('sha256');
      entry.on('data', (chunk: Buffer) => hash.update(chunk));
      entry.on('end', () => entries.push(`${entry.type} ${entry.path} ${hash.digest('hex')}`));
    },
  });
  await new Promise<void>((resolve, reject) => {
    parser.on('error', reject);
    parser.on('end', () => resolve());
    if (typeof archive !== 'string') parser.end(archive);
    else createReadStream(archive).on('error', reject).pipe(parser);
  });
  return entries.sort().join('\n');
}

export async function sameChartContent(a: Buffer | string, b: Buffer | string): Promise<boolean> {
  try {
    return (await contentDigest(a)) === (await contentDigest(b));
  } catch {
    return false;
  }
}
