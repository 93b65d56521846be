/**
 * Runtime settings of a kind of run (today: `serve`), applied by replacing the process image
 * once at start (same pid, same stdio): V8 sizes its heap, reads its compiler tiers and glibc its malloc arenas
 * when the process starts, for every thread; setting them later has no effect.
 *
 * Why these (measured, docs/sidecar.md#performance):
 * - `serve` runs for days and waits on git and disks; its builds spend their time in zlib.
 *   - V8 grows the main thread's young generation to 32–128 MiB under a sync's short-lived
 *     allocations and keeps it; the live heap is ~20 MiB. A 1 MiB semi-space keeps it ~3 MiB.
 *   - V8 lets an old generation grow to 2–4x its live size before collecting it; 1.5x bounds
 *     the garbage that a hundred repos syncing in a row leave behind.
 *   - No TurboFan (`--max-opt=2`: up to Maglev): its code and compile zones cost ~10 MiB.
 *   - glibc gives each thread that allocates its own 64 MiB malloc arena; two serve them all.
 *
 * A setting the user chose (the flag in NODE_OPTIONS or on node's command line, the variable
 * set) is kept; CHARTSYNC_PROCESS_TUNED turns the re-exec off and marks the one done.
 */
const TUNED_ENV = 'CHARTSYNC_PROCESS_TUNED';

export interface Tuning {
  v8Flags: string[];
  env: Record<string, string>;
}

export const SERVE_TUNING: Tuning = {
  v8Flags: ['--max-semi-space-size=1', '--heap-growing-percent=50', '--max-opt=2'],
  env: { MALLOC_ARENA_MAX: '2' },
};

export interface TuningPlan {
  execArgv: string[];
  env: Record<string, string>;
}

/** Pure: what the re-exec would add, or undefined when nothing is to be done. */
export function tuningPlan(
  execArgv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  tuning: Tuning = SERVE_TUNING,
): TuningPlan | undefined {
  if (env[TUNED_ENV]) return undefined;
  const userFlags = `${env.NODE_OPTIONS ?? ''} ${execArgv.join(' ')}`;
  const flags = tuning.v8Flags.filter((f) => !userFlags.includes(f.split('=')[0] ?? f));
  const extraEnv = Object.fromEntries(Object.entries(tuning.env).filter(([k]) => !env[k]));
  if (flags.length === 0 && Object.keys(extraEnv).length === 0) return undefined;
  // Ours first: a flag the user gave on the command line comes later and wins.
  return { execArgv: [...flags, ...execArgv], env: { ...extraEnv, [TUNED_ENV]: '1' } };
}

/** Re-executes this process with the plan (never returns then); else returns and runs as is. */
export function tuneProcess(tuning: Tuning): void {
  const script = process.argv[1];
  // An IPC channel's descriptor would not survive: leave such a child as it is.
  if (!process.execve || !script || process.channel) return;
  const plan = tuningPlan(process.execArgv, process.env, tuning);
  if (!plan) return;
  process.execve(process.execPath, [process.execPath, ...plan.execArgv, script, ...process.argv.slice(2)], {
    ...process.env,
    ...plan.env,
  });
}
