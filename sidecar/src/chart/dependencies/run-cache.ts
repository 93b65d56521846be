/**
 * What dependency resolution may share between the charts of one run (a sync, a CLI call):
 * repository indexes, and for `oci://` one registry client (its bearer tokens) and the tag
 * lists. A run is named by `PackageOptions.runId` — a sync's build tasks are cloned into build
 * threads, so a thread recognises a run by that id, not by object identity — or, without an id,
 * by the `repositories` array the caller shares between its charts. Nothing outlives its run for
 * long: an id's caches go after IDLE_MS without use (and only the MAX_RUNS most recent are kept),
 * so the next run sees fresh indexes and tags. Runs never share a cache: each sync gets its own
 * id, and the credentials of its registrations stay in its own clients.
 */
import type { PackageOptions } from '../model.js';

type Scope = Map<string, unknown>;

const byObject = new WeakMap<object, Scope>();
const byId = new Map<string, { scope: Scope; used: number }>();
const MAX_RUNS = 8;
const IDLE_MS = 30_000;
let sweeper: NodeJS.Timeout | undefined;

function sweep(now: number): void {
  for (const [id, run] of byId) if (now - run.used > IDLE_MS) byId.delete(id);
  if (!byId.size && sweeper) {
    clearInterval(sweeper);
    sweeper = undefined;
  }
}

function scopeOf(opts: PackageOptions): Scope {
  if (opts.runId === undefined) {
    const key: object = opts.repositories ?? opts;
    const scope = byObject.get(key) ?? new Map();
    byObject.set(key, scope);
    return scope;
  }
  const now = Date.now();
  sweep(now);
  const run = byId.get(opts.runId) ?? { scope: new Map(), used: now };
  run.used = now;
  byId.delete(opts.runId); // re-inserted last: the Map's order is the recency order
  byId.set(opts.runId, run);
  for (const id of byId.keys()) {
    if (byId.size <= MAX_RUNS) break;
    byId.delete(id);
  }
  sweeper ??= setInterval(() => sweep(Date.now()), IDLE_MS).unref();
  return run.scope;
}

/** The run's value under `name`, made by `create` the first time the run asks for it. */
export function runCached<T>(opts: PackageOptions, name: string, create: () => T): T {
  const scope = scopeOf(opts);
  if (!scope.has(name)) scope.set(name, create());
  return scope.get(name) as T;
}
