/**
 * The timestamp written into every archive entry. Never the clock or the files' mtimes, so
 * packaging is reproducible: SOURCE_DATE_EPOCH when set, else (for the CLI) the time of the
 * last commit touching the chart directory, else a fixed epoch.
 */

/** 1980-01-01T00:00:00Z: the oldest time every archive format (zip included) can store. */
export const FIXED_EPOCH = new Date(Date.UTC(1980, 0, 1));

/** SOURCE_DATE_EPOCH (seconds) as a Date; undefined when unset; throws when malformed. */
export function sourceDateEpoch(env: NodeJS.ProcessEnv = process.env): Date | undefined {
  const raw = env.SOURCE_DATE_EPOCH;
  if (raw === undefined || raw === '') return undefined;
  if (!/^[0-9]+$/.test(raw))
    throw new Error(`SOURCE_DATE_EPOCH must be a number of seconds, got ${JSON.stringify(raw)}`);
  return new Date(Number(raw) * 1000);
}

/** The committer time of the last commit touching `dir`, or undefined outside a git work tree. */
export async function lastCommitTime(dir: string): Promise<Date | undefined> {
  try {
    // Loaded on first use: SOURCE_DATE_EPOCH (or no git work tree) never needs it.
    const { simpleGit } = await import('simple-git');
    const out = await simpleGit({ baseDir: dir }).raw(['log', '-1', '--format=%ct', '--', '.']);
    const seconds = Number(out.trim());
    return out.trim() && Number.isFinite(seconds) ? new Date(seconds * 1000) : undefined;
  } catch {
    return undefined;
  }
}

/** The archive mtime for a chart directory: SOURCE_DATE_EPOCH, its last commit, or FIXED_EPOCH. */
export async function chartMtime(dir: string, env: NodeJS.ProcessEnv = process.env): Promise<Date> {
  return sourceDateEpoch(env) ?? (await lastCommitTime(dir)) ?? FIXED_EPOCH;
}
