/**
 * @chartsync/api: the one definition of the sidecar HTTP API shared by the server (the sidecar)
 * and its clients (the operator, tests). The zod input schemas live in `@chartsync/api/schemas`
 * so that clients importing this entry point do not load them.
 */
export * from './client.js';
export { cronForMinutes, type PeriodFieldNames } from './cron.js';
export { ApiError, statusOf } from './errors.js';
export { SECRET_LOG_PATHS } from './log-redaction.js';
export { isReason, REASONS, type Reason } from './reasons.js';
export { claimedRepo, tokenFromEnv, updateTokenFor } from './tokens.js';
export type * from './types.js';
