/** Chart builds off the main thread: a pool of time-boxed build threads. */
export {
  BuildPool,
  type BuildPoolOptions,
  BuildTimeoutError,
  buildInProcess,
  DEFAULT_BUILD_TIMEOUT_MS,
} from './pool.js';
export type { BuildTask } from './task.js';
