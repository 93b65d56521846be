export const OPERATOR_VERSION = '0.1.0';
export { loadConfig, type OperatorConfig } from './config.js';
export { desiredCronJob, hasDrifted, SYNC_SCRIPT } from './controller/cronjob.js';
export { cronForMinutes, scheduleOf } from './controller/schedule.js';
export { main } from './main.js';
