/**
 * V8's compiled code of chartsync's modules, kept on disk between runs (Node's module compile
 * cache): every run of the CLI and every build thread the service starts would otherwise compile
 * the same ~5 MB of JavaScript again (~90 ms per thread; `chartsync package` of 100 charts
 * ~8%). Kept per user under an existing ~/.cache (never a shared /tmp directory another user
 * could write into; never created elsewhere); NODE_COMPILE_CACHE, when set, is the user's
 * choice and wins. Where the directory cannot be made, Node runs without the cache.
 */
import { mkdirSync, statSync } from 'node:fs';
import module from 'node:module';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

/** The cache directory to use, or undefined: Node's own setting, or no existing cache home. */
export function cacheDirectory(env: NodeJS.ProcessEnv, home: string): string | undefined {
  if (env.NODE_COMPILE_CACHE !== undefined) return undefined; // Node reads it itself
  const base = env.XDG_CACHE_HOME || (home ? join(home, '.cache') : '');
  if (!base || !isDirectory(base)) return undefined;
  return join(base, 'chartsync', 'compile-cache');
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Turns the cache on for this thread and, through the environment, for the threads it starts. */
export function enableCompileCache(): void {
  const dir = cacheDirectory(process.env, safeHome());
  if (!dir || typeof module.enableCompileCache !== 'function') return;
  // Level by level, not `recursive`: Node's recursive mkdir spins forever under /proc.
  for (const level of [dirname(dir), dir]) {
    try {
      mkdirSync(level, { mode: 0o700 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') return;
    }
  }
  const result = module.enableCompileCache(dir);
  // Build threads are new Node instances: they find the directory in the environment.
  if (result.directory) process.env.NODE_COMPILE_CACHE = result.directory;
}

function safeHome(): string {
  try {
    return homedir();
  } catch {
    return '';
  }
}
