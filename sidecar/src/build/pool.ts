/**
 * Chart builds (load, dependency resolution, archive write) run on worker threads, so that no
 * chart — a huge one, or a hostile one that makes the loader spin — can hold up the HTTP server
 * and the schedules on the main thread. The threads come from tinypool, one per core by default.
 *
 * Every build is time-boxed: its clock starts when a thread starts working on it (the thread says
 * so over a message port: neither the wait for a free thread nor a thread's start-up counts), and
 * a build over its box has its thread terminated and fails alone with a BuildTimeoutError. A
 * thread that dies (out of memory) fails its chart alone too; tinypool starts a fresh one.
 */
import { rm } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { MessageChannel } from 'node:worker_threads';
import Tinypool from 'tinypool';
import type { StagedChart } from '../chart/model.js';
import type { CheckoutSize, KnownTrees } from '../git/checkout-size.js';
import type { Logger } from '../log/logger.js';
import { type BuildTask, deserializeError, type SerializedError } from './task.js';
import type { BuildLogRecord, BuildReply, MeasureReply } from './worker.js';

/**
 * Longer than a dependency download may take (60 s, dependencies/fetcher.ts) plus the build
 * itself: a slow dependency repository fails the chart with its own precise message, the box is
 * for builds that loop or grind.
 */
export const DEFAULT_BUILD_TIMEOUT_MS = 120_000;
/** Heap cap of a build thread: a chart that needs more fails alone instead of the process. */
const THREAD_HEAP_MB = 512;
/**
 * Stack of a build thread. helm reads values nested up to 10,000 levels (Go's JSON decoder stops
 * there); the YAML libraries recurse per level, ~3,000 flow levels in V8's default 4 MiB.
 * Only what a chart's depth uses is ever touched.
 */
const THREAD_STACK_MB = 32;
/** Idle threads exit after this long; the next build starts one again (~0.1 s). */
const IDLE_MS = 60_000;
/** How long a thread may take to start before the build counts as over its box anyway. */
const START_GRACE_MS = 30_000;

export interface BuildPoolOptions {
  /** Build threads; default: one per core. */
  threads?: number;
  /** Time box of one chart build; default 60 s; 0: none. */
  timeoutMs?: number;
  /**
   * Start every thread now, not on the first builds: a one-shot run (the CLI) overlaps their
   * start-up with its own work. A long-running service leaves idle threads to come and go.
   */
  eager?: boolean;
}

/** A chart build that ran past its time box; its thread was terminated. */
export class BuildTimeoutError extends Error {
  readonly dir: string;
  readonly timeoutMs: number;
  constructor(dir: string, timeoutMs: number) {
    super(`chart build took longer than ${timeoutMs / 1000} s and was stopped`);
    this.name = 'BuildTimeoutError';
    this.dir = dir;
    this.timeoutMs = timeoutMs;
  }
}

/**
 * One build on the calling thread, without a pool or a time box (a CLI run of one chart). The
 * main thread has ~1 MB of stack, a build thread THREAD_STACK_MB: a chart whose nesting (a deep
 * values.yaml, which helm reads) overflows it here is built again on a thread of its own.
 */
export async function buildInProcess(task: BuildTask): Promise<StagedChart> {
  // Loaded on use: a caller that only hands builds to threads never loads the chart engine.
  const { default: build } = await import('./worker.js');
  const reply = await build(task);
  if (reply.ok || !overflowedStack(reply.error)) return unwrap(reply, undefined);
  const pool = new BuildPool({ threads: 1, timeoutMs: 0 });
  try {
    return await pool.build(task);
  } finally {
    await pool.close();
  }
}

/**
 * Whether a build failed on V8's stack limit. Only the message tells: the YAML library catches
 * the RangeError itself and reports it as a parse error at the line it reached.
 */
function overflowedStack(error: SerializedError): boolean {
  return error.message.includes('Maximum call stack size exceeded');
}

function unwrap(reply: BuildReply, log?: Logger): StagedChart {
  if (log) relayLogs(reply.logs, log);
  if (!reply.ok) throw deserializeError(reply.error);
  return reply.chart;
}

/** Writes what a build thread logged through the caller's logger, level kept. */
export function relayLogs(records: readonly BuildLogRecord[], log: Logger): void {
  for (const r of records) log[r.level](r.fields, r.msg);
}

export class BuildPool {
  readonly threads: number;
  readonly timeoutMs: number;
  private readonly eager: boolean;
  private pool: Tinypool | undefined;
  private free: number;
  private readonly waiting: (() => void)[] = [];

  constructor(opts: BuildPoolOptions = {}) {
    this.threads = Math.max(1, opts.threads ?? availableParallelism());
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_BUILD_TIMEOUT_MS;
    this.free = this.threads;
    this.eager = opts.eager ?? false;
    if (this.eager) this.tinypool();
  }

  /**
   * Packages the chart of `task` into `task.out` on a build thread. Throws what the build threw
   * (a ChartError stays one), BuildTimeoutError past the time box, or `signal`'s reason. What the
   * build logged (dependency choices) is written to `log` once it is done.
   */
  async build(task: BuildTask, signal?: AbortSignal, log?: Logger): Promise<StagedChart> {
    await this.acquire();
    const box = new AbortController();
    const overtime = () => box.abort(new BuildTimeoutError(task.dir, this.timeoutMs));
    const boxed = this.timeoutMs > 0;
    let timer = boxed ? setTimeout(overtime, this.timeoutMs + START_GRACE_MS) : undefined;
    const started = new MessageChannel();
    started.port1.once('message', () => {
      clearTimeout(timer);
      if (boxed) timer = setTimeout(overtime, this.timeoutMs);
    });
    const cancel = () => box.abort(signal?.reason ?? new Error('build cancelled'));
    signal?.addEventListener('abort', cancel, { once: true });
    try {
      if (signal?.aborted) cancel();
      const reply: BuildReply = await this.tinypool().run(
        { ...task, ...(log ? { logLevel: log.level } : {}), started: started.port2 },
        { signal: box.signal, transferList: [started.port2] },
      );
      return unwrap(reply, log);
    } catch (err) {
      if (!box.signal.aborted) throw err;
      // The thread was terminated mid-write: its partial archive goes too.
      await rm(task.out, { force: true });
      throw box.signal.reason;
    } finally {
      clearTimeout(timer);
      started.port1.close();
      signal?.removeEventListener('abort', cancel);
      this.release();
    }
  }

  /**
   * measureCheckout (git/checkout-size.ts) on a build thread, taking a thread like a build.
   * Rejects with the file system's error code, as the walk on this thread would.
   */
  async measureCheckout(dir: string, cap: number, known?: KnownTrees): Promise<CheckoutSize> {
    await this.acquire();
    try {
      const reply: MeasureReply = await this.tinypool().run({ dir, cap, known }, { name: 'measure' });
      if (reply.ok) return reply.size;
      throw Object.assign(new Error(`checkout not measured: ${reply.code}`), { code: reply.code });
    } finally {
      this.release();
    }
  }

  /** Terminates the threads; builds still running fail. */
  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    await pool?.destroy();
  }

  private tinypool(): Tinypool {
    this.pool ??= new Tinypool({
      filename: fileURLToPath(new URL('./worker.js', import.meta.url)),
      minThreads: this.eager ? this.threads : 0,
      maxThreads: this.threads,
      idleTimeout: IDLE_MS,
      // The threads run one module; the process's own flags (`--input-type`, `--eval`...) would
      // be refused by a worker, and V8 flags are process-wide anyway.
      execArgv: [],
      resourceLimits: {
        maxOldGenerationSizeMb: THREAD_HEAP_MB,
        maxYoungGenerationSizeMb: 4,
        stackSizeMb: THREAD_STACK_MB,
      },
    });
    return this.pool;
  }

  private async acquire(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.free++;
  }
}
