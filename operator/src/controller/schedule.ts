/**
 * The CronJob schedule of a Chartmuseum: `spec.schedule` as given, or `updateEveryMinutes`
 * mapped to an exact cron expression (the CRD refuses periods that have none).
 */
import type { ChartmuseumSpec } from './resource.js';

/** Without schedule or updateEveryMinutes the repository is re-synced hourly. */
export const DEFAULT_SCHEDULE = '0 * * * *';

export function cronForMinutes(n: number): string {
  if (!Number.isInteger(n) || n < 1) throw new Error(`updateEveryMinutes ${n}: expected a positive integer`);
  if (n < 60 && 60 % n === 0) return `*/${n} * * * *`;
  if (n === 60) return '0 * * * *';
  if (n % 60 === 0 && 1440 % n === 0) {
    const hours = n / 60;
    return hours === 24 ? '0 0 * * *' : `0 */${hours} * * *`;
  }
  throw new Error(
    `updateEveryMinutes ${n} has no exact cron form (it must divide 60, or be a multiple of 60 dividing 1440); use spec.schedule`,
  );
}

export function scheduleOf(spec: ChartmuseumSpec): string {
  if (spec.schedule) return spec.schedule;
  if (spec.updateEveryMinutes !== undefined) return cronForMinutes(spec.updateEveryMinutes);
  return DEFAULT_SCHEDULE;
}
