/** Standalone schedules (node-cron). */
export { scheduleOf } from './schedule.js';
