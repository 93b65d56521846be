/** The body of a build thread: packages one chart into a file (see pool.ts). */
import { rm } from 'node:fs/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { MessagePort } from 'node:worker_threads';
import type { StagedChart } from '../chart/model.js';
import { packageChartToFile } from '../chart/package.js';
import { type CheckoutSize, type KnownTrees, measureCheckout } from '../git/checkout-size.js';
import { type BuildTask, type SerializedError, serializeError } from './task.js';

/** One line a build logged, for the main thread's logger to write (pool.ts). */
export interface BuildLogRecord {
  level: 'debug';
  fields: Record<string, unknown>;
  msg: string;
}

export type BuildReply = ({ ok: true; chart: StagedChart } | { ok: false; error: SerializedError }) & {
  logs: BuildLogRecord[];
};

/**
 * A full collection, for after each large file of a chart has been written. Large files pass
 * through as whole buffers held outside the JS heap, and V8 collects those only once ~64 MB of
 * them have piled up: a chart of many 5 MB files would hold that much garbage at its peak.
 * (Threads started after the flag is set see a global `gc` too; nothing in them calls it.)
 */
const reclaim = ((): (() => void) => {
  // The flag is process-wide and shared by every thread: set, never unset (unsetting it raced
  // with another thread's start and left it without `gc`). Without it, reclaiming is skipped.
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as unknown;
    return typeof gc === 'function' ? () => gc() : () => undefined;
  } catch {
    return () => undefined;
  }
})();

export default async function build(task: BuildTask & { started?: MessagePort }): Promise<BuildReply> {
  // The pool's time box starts now.
  task.started?.postMessage(0);
  task.started?.close();
  // A logger cannot cross the thread boundary: the lines are collected and travel with the reply.
  // Plain records, not a logging library: each build thread would pay ~8 MB for loading one.
  const logs: BuildLogRecord[] = [];
  const debug = task.logLevel === 'debug' || task.logLevel === 'trace';
  const logger = {
    debug: (fields: Record<string, unknown>, msg: string) =>
      debug && logs.push({ level: 'debug', fields, msg }),
  };
  try {
    const chart = await packageChartToFile(
      task.dir,
      {
        mtime: new Date(task.mtime),
        reclaim,
        dependencyUpdate: task.dependencyUpdate,
        repositories: task.repositories,
        ...(task.runId ? { runId: task.runId } : {}),
        logger,
        ...(task.cacheDir ? { cacheDir: task.cacheDir } : {}),
        ...(task.repoRoot ? { repoRoot: task.repoRoot } : {}),
      },
      task.out,
    );
    return { ok: true, chart, logs };
  } catch (err) {
    await rm(task.out, { force: true });
    return { ok: false, error: serializeError(err), logs };
  }
}

export type MeasureReply = { ok: true; size: CheckoutSize } | { ok: false; code: string };

/**
 * The checkout cap's count (git/checkout-size.ts), run here: the walk of a large checkout
 * stays off the server's event loop, and its garbage off the server's heap.
 */
export async function measure(args: { dir: string; cap: number; known?: KnownTrees }): Promise<MeasureReply> {
  try {
    return { ok: true, size: await measureCheckout(args.dir, args.cap, args.known) };
  } catch (err) {
    return { ok: false, code: (err as NodeJS.ErrnoException).code ?? 'EIO' };
  }
}
