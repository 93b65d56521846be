/**
 * Schedules of standalone repos: a cron expression (`schedule`) or a period (`everyMinutes`),
 * mapped to an exact cron expression like the operator does for `updateEveryMinutes`.
 */
import { validate } from 'node-cron';

export function everyMinutesToCron(n: number): string {
  if (Number.isInteger(n) && n > 0 && n < 60 && 60 % n === 0) return n === 1 ? '* * * * *' : `*/${n} * * * *`;
  if (Number.isInteger(n) && n >= 60 && n % 60 === 0 && 1440 % n === 0) {
    const hours = n / 60;
    return hours === 24 ? '0 0 * * *' : hours === 1 ? '0 * * * *' : `0 */${hours} * * *`;
  }
  throw new Error(
    `everyMinutes ${n} has no exact cron form (it must divide 60, or be a multiple of 60 dividing 1440); use "schedule" with a cron expression instead`,
  );
}

/** The cron expression of a repo, or undefined when it is only synced on demand. */
export function scheduleOf(repo: { schedule?: string; everyMinutes?: number }): string | undefined {
  if (repo.schedule && repo.everyMinutes) throw new Error('give either schedule or everyMinutes, not both');
  if (repo.everyMinutes) return everyMinutesToCron(repo.everyMinutes);
  if (!repo.schedule) return undefined;
  if (!validate(repo.schedule)) throw new Error(`schedule "${repo.schedule}" is not a valid cron expression`);
  return repo.schedule;
}
