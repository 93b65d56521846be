/** Whether a directory can take a new file now: what readiness checks ask of storage and data dir. */
import { constants } from 'node:fs';
import { access, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The probe's file: hidden, so no storage scanner ever takes it for a chart. */
const PROBE_FILE = '.chartsync-probe';
/** One page of data: a disk without a free block fails the write, not only one without inodes. */
const PROBE_DATA = Buffer.alloc(4096);

/** Creates `dir` if needed and writes (then removes) a small file in it; throws what failed. */
export async function probeWritable(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await access(dir, constants.W_OK);
  const probe = join(dir, `${PROBE_FILE}.${process.pid}`);
  try {
    await writeFile(probe, PROBE_DATA);
  } finally {
    await rm(probe, { force: true });
  }
}
