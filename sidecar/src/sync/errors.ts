/**
 * Maps failures of the layers below (git, chart engine, publishing, input) onto the API's error
 * codes and machine reasons. Each layer classifies its own failures — GitError.kind (from git's
 * output, in the git layer), ChartError.reason, PublishError.reason — and this is the one place
 * that turns those into answers, so no caller ever guesses a reason from message text.
 */
import { ApiError, type Reason } from '@chartsync/api';
import { BuildTimeoutError } from '../build/index.js';
import { ChartError, DiscoveryError } from '../chart/index.js';
import { GitError, type GitErrorKind } from '../git/index.js';
import { isStorageFull, PublishError } from '../publish/publisher.js';

const GIT_REASON: Record<GitErrorKind, Reason> = {
  policy: 'InvalidInput',
  auth: 'GitAuthFailed',
  storage: 'StorageFull',
  unreachable: 'GitUnreachable',
  ref: 'RefNotFound',
  size: 'CheckoutTooLarge',
  failed: 'GitFailed',
};

export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof GitError) {
    return new ApiError(err.kind === 'policy' ? 'invalid_input' : 'upstream_failed', err.message, {
      cause: err,
      reason: GIT_REASON[err.kind],
    });
  }
  // A directory of the checkout git wrote that cannot be listed: the sync fails as a git
  // failure does, naming the directory in the checkout (never the data dir).
  if (err instanceof DiscoveryError && err.kind === 'unreadable')
    return new ApiError('upstream_failed', err.message, { cause: err, reason: 'GitFailed' });
  // A `paths` entry missing from the repository, or leading out of it: the registration asks for
  // something that is not there, or that it may not read.
  if (err instanceof DiscoveryError) {
    const reason = err.kind === 'escape' ? 'PathEscapesCheckout' : 'InvalidInput';
    return new ApiError('invalid_input', err.message, { cause: err, reason });
  }
  // A full disk under the data dir (registrations, state, clones, caches) or the storage: the
  // message names the file or dir; 502 like every failure of a resource the sidecar depends on.
  if (isStorageFull(err))
    return new ApiError('upstream_failed', (err as Error).message, { cause: err, reason: 'StorageFull' });
  if (err instanceof PublishError)
    return new ApiError('upstream_failed', err.message, { cause: err, reason: err.reason });
  return new ApiError('internal', (err as Error)?.message ?? String(err), { cause: err });
}

/** The machine reason of one chart's failure to build. */
export function chartFailureReason(err: unknown): Reason {
  if (err instanceof ChartError) return err.reason ?? 'InvalidChart';
  if (err instanceof BuildTimeoutError) return 'BuildTimeout';
  if (err instanceof ApiError) return err.reason;
  return isStorageFull(err) ? 'StorageFull' : 'InvalidChart';
}

/** The machine reason of one chart's failure to publish. */
export function publishFailureReason(err: unknown): Reason {
  return err instanceof PublishError ? err.reason : 'PublishFailed';
}
