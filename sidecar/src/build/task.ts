/**
 * What crosses the thread boundary of a chart build: the task (plain data: paths, times,
 * repositories) and the reply. Errors do not survive structured cloning with their class, so a
 * failure travels as its name, message and own fields, and is rebuilt on the main thread.
 */
import { ChartError } from '../chart/errors.js';
import type { DependencyRepository } from '../chart/model.js';

export interface BuildTask {
  /** The chart directory (absolute). */
  dir: string;
  /** Where the archive is written (absolute); removed again when the build fails. */
  out: string;
  /** Entry mtime of the archive, epoch milliseconds. */
  mtime: number;
  dependencyUpdate: boolean;
  repositories: DependencyRepository[];
  /** The sync this build belongs to: its charts share dependency lookups (run-cache.ts). */
  runId?: string;
  cacheDir?: string;
  repoRoot?: string;
  /** The level of the caller's logger: lines at or above it come back with the reply. */
  logLevel?: string;
}

export interface SerializedError {
  name: string;
  message: string;
  /** The error's own primitive fields (ChartError's chart/file/problem, errno's code...). */
  fields: Record<string, string | number | boolean>;
}

export function serializeError(err: unknown): SerializedError {
  const e = err instanceof Error ? err : new Error(String(err));
  const fields: SerializedError['fields'] = {};
  for (const [k, v] of Object.entries(e)) {
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') fields[k] = v;
  }
  return { name: e.name, message: e.message, fields };
}

/** The error again, as a ChartError when it was one (callers branch on the class and its fields). */
export function deserializeError(s: SerializedError): Error {
  const proto = s.name === 'ChartError' ? ChartError.prototype : Error.prototype;
  const err = Object.assign(Object.create(proto) as Error, s.fields);
  Object.defineProperty(err, 'message', { value: s.message, enumerable: false, writable: true });
  Object.defineProperty(err, 'name', { value: s.name, enumerable: false, writable: true });
  Error.captureStackTrace(err, deserializeError);
  return err;
}
