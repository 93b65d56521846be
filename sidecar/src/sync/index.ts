/** Sync planning and coalescing (the service itself is started by the server). */
export { Coalescer } from './coalesce.js';
export { FileClaims, placePackage, prunable } from './plan.js';
