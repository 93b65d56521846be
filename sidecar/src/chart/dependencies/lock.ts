/**
 * Chart.lock / requirements.lock: the digest helm computes over the requested and the locked
 * dependencies (helm's internal/resolver `HashReq` and `HashV2Req`), and the lock document.
 */
import { createHash } from 'node:crypto';
import type { ChartDependency, ChartLock } from '../model.js';
import { GoStruct, goJsonMarshal } from './go-json.js';

export type LockedDependency = NonNullable<ChartLock['dependencies']>[number];

/** helm's `chart.Dependency` struct, fields in declaration order with their JSON tags. */
export function dependencyStruct(d: Partial<ChartDependency> & { name: string }): GoStruct {
  return new GoStruct([
    { key: 'name', value: d.name },
    { key: 'version', value: d.version, omitEmpty: true },
    { key: 'repository', value: d.repository ?? '' },
    { key: 'condition', value: d.condition, omitEmpty: true },
    { key: 'tags', value: d.tags, omitEmpty: true },
    { key: 'enabled', value: d.enabled, omitEmpty: true },
    { key: 'import-values', value: d['import-values'], omitEmpty: true },
    { key: 'alias', value: d.alias, omitEmpty: true },
  ]);
}

function sha256(text: string): string {
  return `sha256:${createHash('sha256').update(text).digest('hex')}`;
}

/** helm's `HashReq(req, lock)`: the Chart.lock digest. */
export function hashReq(req: ChartDependency[], locked: LockedDependency[]): string {
  return sha256(goJsonMarshal([req.map(dependencyStruct), locked.map(dependencyStruct)]));
}

/** helm's `HashV2Req(req)`: the digest Helm 2 wrote into requirements.lock. */
export function hashV2Req(req: ChartDependency[]): string {
  return sha256(goJsonMarshal({ dependencies: req.map(dependencyStruct) }));
}

/**
 * Go's RFC 3339 with nanoseconds, trailing zeros trimmed, as helm writes `generated`. The
 * time comes from the caller (the commit time), never the clock, so packages are reproducible.
 */
export function formatLockTime(date: Date): string {
  return date.toISOString().replace(/\.(\d*?)0*Z$/, (_m, frac: string) => (frac ? `.${frac}Z` : 'Z'));
}
