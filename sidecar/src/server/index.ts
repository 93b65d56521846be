/** The HTTP service: start it from a resolved configuration; bearer tokens. */
export { tokenMatches } from './auth.js';
export { type RunningSidecar, startSidecar } from './start.js';
