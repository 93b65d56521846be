/**
 * The git layer of the sidecar: URL/ref policy, the cheap remote ref check, shallow checkouts
 * kept current by fetch + hard reset, and per-directory tree ids. Every git process runs with an
 * isolated configuration, the allowed transports only, credentials passed per command and
 * secrets scrubbed from anything surfaced.
 */

export { type CheckoutOptions, type CheckoutResult, syncCheckout } from './checkout.js';
export { GitError, type GitErrorKind } from './errors.js';
export { redact, redactUrl } from './redact.js';
export { type RemoteOptions, remoteHead } from './remote.js';
export type { GitAuth } from './session.js';
export { treeIds } from './tree.js';
export { checkGitUrl, checkRef, type UrlPolicy } from './url-policy.js';
