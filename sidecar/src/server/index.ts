/** The HTTP service: start it from a resolved configuration; bearer tokens; the registrations file. */

export { RegistryStore, type RepoRecord } from '../registry/store.js';
export { tokenMatches } from './auth.js';
export { type RunningSidecar, startSidecar } from './start.js';
