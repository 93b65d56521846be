/** Maps failures of the layers below (git, publishing, input) onto the API's error codes. */
import { ApiError } from '../api/errors.js';
import { DiscoveryError } from '../chart/index.js';
import { GitError } from '../git/index.js';
import { PublishError } from '../publish/publisher.js';

export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof GitError) {
    return new ApiError(err.kind === 'policy' ? 'invalid_input' : 'upstream_failed', err.message, {
      cause: err,
    });
  }
  // A `paths` entry missing from the repository: the registration asks for something that is not there.
  if (err instanceof DiscoveryError) return new ApiError('invalid_input', err.message, { cause: err });
  if (err instanceof PublishError) return new ApiError('upstream_failed', err.message, { cause: err });
  return new ApiError('internal', (err as Error)?.message ?? String(err), { cause: err });
}
