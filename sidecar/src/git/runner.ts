/**
 * Runs one git command through simple-git inside a session: the session's environment only,
 * an inactivity timeout and an overall deadline (a hung remote is killed), and failures turned
 * into GitErrors whose messages carry git's scrubbed last words.
 */
import type { Logger } from 'pino';
// first: sets DEBUG_COLORS before simple-git loads its debug module
import './debug-colors.js';
import { simpleGit } from 'simple-git';
import { classifyGitOutput, GitError, gitHint, gitLastWords } from './errors.js';
import { redact } from './redact.js';
import type { GitSession } from './session.js';

export interface RunOptions {
  cwd?: string | undefined;
  /** Kill git when it has been silent this long (ms). */
  idleTimeoutMs?: number | undefined;
  /** Kill git when it runs longer than this in total (ms). */
  deadlineMs?: number | undefined;
  /** What this command does, for error messages (no secrets: URLs already redacted). */
  describe: string;
  log?: Logger | undefined;
}

export const DEFAULT_IDLE_TIMEOUT_MS = 60_000;
export const DEFAULT_DEADLINE_MS = 15 * 60_000;

/**
 * The most of git's output kept in memory: simple-git holds all of a command's stdout and
 * stderr until it ends. A server chooses what git prints on stderr (`remote:` messages of a
 * fetch, an ssh server's own stderr): one sending them without end filled gigabytes of the
 * sidecar's heap within seconds, and kept the idle timeout from ever firing. Real output is far
 * below: progress and a server's few lines (KiB), the largest stdout an `ls-tree -r -d` of a
 * checkout's directories (tens of MiB at the size cap).
 */
export const MAX_STDERR_BYTES = 4 * 1024 * 1024;
export const MAX_STDOUT_BYTES = 128 * 1024 * 1024;

// Our own session settings use these; simple-git refuses them unless explicitly enabled. The
// argument-level guards (--upload-pack, -u, --exec, ...) stay on as one more safety net.
// Template dir: checkouts pass `--template=` (none, checkout.ts); no input ever becomes an option.
const UNSAFE_ALLOWED = {
  allowUnsafeConfigEnvCount: true,
  allowUnsafeProtocolOverride: true,
  allowUnsafeAskPass: true,
  allowUnsafeSshCommand: true,
  allowUnsafeTemplateDir: true,
} as const;

/** Runs `git <args>` and returns its stdout; throws GitError on failure or timeout. */
export async function runGit(session: GitSession, args: string[], o: RunOptions): Promise<string> {
  const started = performance.now();
  const deadline = AbortSignal.timeout(o.deadlineMs ?? DEFAULT_DEADLINE_MS);
  const flood = new AbortController();
  const git = simpleGit({
    baseDir: o.cwd ?? process.cwd(),
    maxConcurrentProcesses: 1,
    timeout: { block: o.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS },
    abort: AbortSignal.any([deadline, flood.signal]),
    unsafe: UNSAFE_ALLOWED,
    allowEnvironment: Object.keys(session.env),
  })
    .env(session.env)
    .outputHandler((_command, stdout, stderr) => {
      capOutput(stdout, MAX_STDOUT_BYTES, flood);
      capOutput(stderr, MAX_STDERR_BYTES, flood);
    });
  const shown = redact(args.join(' '), session.secrets);
  try {
    const out = await git.raw(args);
    o.log?.debug({ git: shown, ms: Math.round(performance.now() - started) }, 'git command done');
    return out;
  } catch (err) {
    const e = flood.signal.aborted ? floodError(o) : toGitError(err, session, o);
    o.log?.debug(
      { git: shown, ms: Math.round(performance.now() - started), kind: e.kind, err: e.message },
      'git command failed',
    );
    throw e;
  }
}

/** Stops the command (through `flood`) once `stream` said more than `max` bytes. */
function capOutput(stream: NodeJS.ReadableStream, max: number, flood: AbortController): void {
  let bytes = 0;
  stream.on('data', (chunk: Buffer | string) => {
    bytes += chunk.length;
    if (bytes > max && !flood.signal.aborted) flood.abort();
  });
}

function floodError(o: RunOptions): GitError {
  return new GitError(
    'failed',
    `${o.describe} stopped: git printed more than ${MAX_STDERR_BYTES / 1024 / 1024} MiB of messages or ` +
      `${MAX_STDOUT_BYTES / 1024 / 1024} MiB of output (a server sending messages without end?)`,
  );
}

function toGitError(err: unknown, session: GitSession, o: RunOptions): GitError {
  const raw = err instanceof Error ? err.message : String(err);
  const plugin = (err as { plugin?: string } | null)?.plugin;
  if (plugin === 'timeout' || plugin === 'abort') {
    const what =
      plugin === 'timeout'
        ? `no progress for ${(o.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS) / 1000}s`
        : 'the deadline passed';
    return new GitError('unreachable', `${o.describe} timed out (${what})`);
  }
  if (plugin) return new GitError('policy', `${o.describe} refused: ${redact(raw, session.secrets)}`);
  const kind = classifyGitOutput(raw);
  const words = redact(gitLastWords(raw), session.secrets);
  const hint = gitHint(raw);
  return new GitError(
    kind,
    `${o.describe} failed${KIND_HINT[kind]}: ${words || 'git exited with an error'}${hint ? ` (${hint})` : ''}`,
  );
}

const KIND_HINT: Record<GitError['kind'], string> = {
  policy: ' (transport not allowed)',
  auth: ' (authentication or host key check failed)',
  storage: ' (disk full)',
  unreachable: ' (remote unreachable)',
  ref: ' (ref not found)',
  // never from git's output (checkout-size.ts): here for the table's completeness
  size: ' (checkout too large)',
  failed: '',
};
