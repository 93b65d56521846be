/**
 * The one mapping of a period in minutes to an exact cron expression, shared by the operator
 * (`spec.updateEveryMinutes` -> the CronJob schedule) and standalone schedules (`everyMinutes`).
 */

/** How the caller names the period field and its cron alternative, for the error message. */
export interface PeriodFieldNames {
  field: string;
  instead: string;
}

const STANDALONE_NAMES: PeriodFieldNames = { field: 'everyMinutes', instead: '"schedule"' };

/**
 * `*\/N * * * *` when N divides 60, hourly forms when N is a multiple of 60 dividing 1440; any
 * other period has no exact cron form and is refused (an approximate schedule would drift).
 */
export function cronForMinutes(n: number, names: PeriodFieldNames = STANDALONE_NAMES): string {
  if (Number.isInteger(n) && n > 0 && n < 60 && 60 % n === 0) return n === 1 ? '* * * * *' : `*/${n} * * * *`;
  if (Number.isInteger(n) && n >= 60 && n % 60 === 0 && 1440 % n === 0) {
    const hours = n / 60;
    return hours === 24 ? '0 0 * * *' : hours === 1 ? '0 * * * *' : `0 */${hours} * * *`;
  }
  throw new Error(
    `${names.field} ${n} has no exact cron form (it must be a positive whole number dividing 60, or a multiple of 60 dividing 1440); use ${names.instead} with a cron expression instead`,
  );
}
