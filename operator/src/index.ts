/** @chartsync/operator: the entry point and the pure building blocks (exported for tests). */
export const OPERATOR_VERSION = '0.1.0';
export { ConfigError, loadConfig, type OperatorConfig } from './config.js';
export { claimedNames, ownerOf } from './controller/claims.js';
export { isAnnounced, READY, setCondition } from './controller/conditions.js';
export { desiredCronJob, hasDrifted, SYNC_SCRIPT } from './controller/cronjob.js';
export { Freshness } from './controller/freshness.js';
export { outcomeOfError, outcomeOfRepoView, outcomeOfSync } from './controller/outcome.js';
export { WorkQueue } from './controller/queue.js';
export type { Chartmuseum } from './controller/resource.js';
export { DEFAULT_SCHEDULE, scheduleOf } from './controller/schedule.js';
export { stableJson } from './controller/stable-json.js';
export { nextStatus, statusForCache, statusPatch } from './controller/status.js';
export { AccessError, type ApiAccess, loadAccess } from './kube/access.js';
export { createLogger } from './log.js';
export { main } from './main.js';
