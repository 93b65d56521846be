/**
 * The git layer of the sidecar: URL/ref policy, the cheap remote ref check, shallow checkouts
 * kept current by fetch + hard reset, and per-directory tree ids. Every git process runs with an
 * isolated configuration, the allowed transports only, credentials passed per command and
 * secrets scrubbed from anything surfaced.
 */

// How a clone dir is removed, however deep its paths (exported for its unit test).
export { removeTree } from '../storage/remove-tree.js';
export { redactUrlsIn, splitUrlCredentials, UrlCredentialsError, urlSecrets } from '../url/credentials.js';
export { type CheckoutOptions, type CheckoutResult, resolvedByClone, syncCheckout } from './checkout.js';
export {
  type CheckoutSize,
  countedKey,
  DEFAULT_MAX_CHECKOUT_SIZE,
  type KnownTrees,
  type MeasureCheckout,
  measureCheckout,
} from './checkout-size.js';
// Building blocks of the layer, exported for its unit tests and for callers that need one part.
export { classifyGitOutput, GitError, type GitErrorKind, gitHint, gitLastWords } from './errors.js';
export { parseIndexTrees, readIndexTrees } from './index-trees.js';
export { checkLocalRepoOnDisk, checkRepositoryUrl } from './local-repo.js';
export { lsRemoteArgs, type ResolvedRef, resolveRef } from './ls-remote.js';
export { MAX_PACKS, objectCounts, shouldCompact } from './maintenance.js';
export { type CommitInfo, parseCommit, readCommitInfo } from './objects.js';
export { redact, redactUrl } from './redact.js';
export { headCommit, localRemoteTip } from './refs.js';
export { type RemoteOptions, remoteHead, remoteTip } from './remote.js';
export { runGit } from './runner.js';
export type { GitAuth } from './session.js';
export { normalizeLines, useSecretsDir, withGitSession } from './session.js';
export { pickTrees, treeIds } from './tree.js';
export {
  allowedProtocols,
  checkGitUrl,
  checkRef,
  localRepoPaths,
  parseGitUrl,
  type UrlPolicy,
} from './url-policy.js';
