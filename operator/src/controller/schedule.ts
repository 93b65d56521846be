/**
 * The CronJob schedule of a Chartmuseum: `spec.schedule` as given, or `updateEveryMinutes`
 * mapped to an exact cron expression (the CRD refuses periods that have none).
 */
import { cronForMinutes } from '@chartsync/api';
import type { ChartmuseumSpec } from './resource.js';

/** Without schedule or updateEveryMinutes the repository is re-synced hourly. */
export const DEFAULT_SCHEDULE = '0 * * * *';

const SPEC_NAMES = { field: 'updateEveryMinutes', instead: 'spec.schedule' };

export function scheduleOf(spec: ChartmuseumSpec): string {
  if (spec.schedule) return spec.schedule;
  if (spec.updateEveryMinutes !== undefined) return cronForMinutes(spec.updateEveryMinutes, SPEC_NAMES);
  return DEFAULT_SCHEDULE;
}
