/**
 * simple-git's `debug` loggers ask whether stderr is a terminal (an `isatty` system call) for
 * every logger they create, several per git command: ~6 ms of main-thread time per update of a
 * repository. Colours of debug output chartsync never enables are not worth it; a user's own
 * DEBUG_COLORS still wins. Must be evaluated before simple-git is (runner.ts imports it first).
 */
process.env.DEBUG_COLORS ??= 'no';
