/**
 * Schedules of standalone repos: a cron expression (`schedule`) or a period (`everyMinutes`),
 * mapped to an exact cron expression by the same function the operator uses for `updateEveryMinutes`.
 */
import { cronForMinutes } from '@chartsync/api';
import { validate } from 'node-cron';

/** The cron expression of a repo, or undefined when it is only synced on demand. */
export function scheduleOf(repo: { schedule?: string; everyMinutes?: number }): string | undefined {
  if (repo.schedule && repo.everyMinutes) throw new Error('give either schedule or everyMinutes, not both');
  if (repo.everyMinutes) return cronForMinutes(repo.everyMinutes);
  if (!repo.schedule) return undefined;
  if (!validate(repo.schedule)) throw new Error(`schedule "${repo.schedule}" is not a valid cron expression`);
  return repo.schedule;
}
