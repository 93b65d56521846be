/**
 * Memory settings of the long-running `chartsync serve` process, applied by replacing the process
 * image once at start (same pid, same stdio), because V8 sizes its young generation and glibc its
 * malloc arenas when the process starts: setting them later has no effect.
 *
 * Why these two (measured, docs/sidecar.md#performance):
 * - V8 grows the main thread's young generation up to 64–128 MiB under a sync's short-lived
 *   allocations and keeps it; the server's live heap is ~20 MiB. A 1 MiB semi-space keeps it at
 *   ~3 MiB.
 * - V8 lets an old generation grow to 2–4x its live size before collecting it; 1.5x bounds the
 *   garbage that a hundred repos syncing in a row leave behind.
 * - No TurboFan (`--max-opt=2`: up to Maglev): the server waits on git and disks, and its
 *   builds spend their time in zlib; TurboFan's code and compile zones cost ~10 MiB.
 * - glibc gives each thread that allocates (libuv pool, V8 platform, build threads) its own
 *   64 MiB malloc arena; two arenas serve them all with less fragmentation.
 *
 * Skipped when the user already chose (flag in NODE_OPTIONS or on the command line, or the
 * variable set), when the platform cannot replace the process, and after the one re-exec.
 */
const SERVE_V8_FLAGS = ['--max-semi-space-size=1', '--heap-growing-percent=50', '--max-opt=2'];
const TUNED_ENV = 'CHARTSYNC_PROCESS_TUNED';

export interface TuningPlan {
  execArgv: string[];
  env: Record<string, string>;
}

/** Pure: what the re-exec would add, or undefined when nothing is to be done. */
export function tuningPlan(
  execArgv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): TuningPlan | undefined {
  if (env[TUNED_ENV]) return undefined;
  const userFlags = `${env.NODE_OPTIONS ?? ''} ${execArgv.join(' ')}`;
  const flags = SERVE_V8_FLAGS.filter((f) => !userFlags.includes(f.split('=')[0] ?? f));
  const extraEnv: Record<string, string> = env.MALLOC_ARENA_MAX ? {} : { MALLOC_ARENA_MAX: '2' };
  if (flags.length === 0 && Object.keys(extraEnv).length === 0) return undefined;
  return { execArgv: [...flags, ...execArgv], env: { ...extraEnv, [TUNED_ENV]: '1' } };
}

/** Re-executes this process with the plan (never returns then); else returns and runs as is. */
export function tuneProcess(): void {
  const execve = (process as { execve?: (file: string, args: string[], env: NodeJS.ProcessEnv) => never })
    .execve;
  const script = process.argv[1];
  // An IPC channel's descriptor would not survive: leave such a child as it is.
  if (!execve || !script || process.channel) return;
  const plan = tuningPlan(process.execArgv, process.env);
  if (!plan) return;
  execve(process.execPath, [process.execPath, ...plan.execArgv, script, ...process.argv.slice(2)], {
    ...process.env,
    ...plan.env,
  });
}
