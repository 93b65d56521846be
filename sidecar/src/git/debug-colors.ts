/**
 * simple-git's `debug` loggers, tamed. Must be evaluated before simple-git is (runner.ts imports
 * it first).
 *
 * Colours: the loggers ask whether stderr is a terminal (an `isatty` system call) for every
 * logger they create, several per git command: ~6 ms of main-thread time per update of a
 * repository. Colours of debug output chartsync never enables are not worth it; a user's own
 * DEBUG_COLORS still wins.
 *
 * Silence: with `DEBUG=*` or `DEBUG=simple-git*` (a usual first step when something goes wrong)
 * simple-git prints every command's environment and output to stderr, past the log's redaction:
 * the HTTP password in the askpass variables, the `Authorization: Basic` header of git's config
 * and git's raw messages (URLs with their tokens). Its namespaces are always left out; the
 * user's other namespaces stay as asked.
 */
import { createRequire } from 'node:module';

process.env.DEBUG_COLORS ??= 'no';

interface DebugModule {
  disable(): string;
  enable(namespaces: string): void;
}

/** The `debug` instance simple-git itself loads (not a dependency of ours: resolved from it). */
function simpleGitDebug(): DebugModule | undefined {
  try {
    const require = createRequire(import.meta.url);
    return createRequire(require.resolve('simple-git'))('debug') as DebugModule;
  } catch {
    return undefined;
  }
}

const debug = simpleGitDebug();
if (debug) {
  // disable() answers what was enabled (from DEBUG when the module loaded, or set since)
  const enabled = debug.disable();
  if (enabled) debug.enable(`${enabled},-simple-git,-simple-git:*`);
}
