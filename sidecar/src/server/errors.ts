/** The one place where failures become `{ error, message }` answers with the design's status codes. */
import type { ErrorRequestHandler, RequestHandler } from 'express';
import { ApiError } from '../api/errors.js';
import type { ErrorBody } from '../api/types.js';
import type { Logger } from '../log/logger.js';
import { toApiError } from '../sync/errors.js';

/** Errors raised by express' body parsers carry a `type`. */
function fromBodyParser(err: { type?: string; limit?: number; message?: string }): ApiError | undefined {
  switch (err.type) {
    case 'entity.too.large':
      return new ApiError('payload_too_large', `request body exceeds the limit of ${err.limit} bytes`);
    case 'entity.parse.failed':
      return new ApiError('invalid_input', `request body is not valid JSON: ${err.message}`);
    case 'encoding.unsupported':
    case 'charset.unsupported':
    case 'parameters.too.many':
      return new ApiError('invalid_input', `request body rejected: ${err.message}`);
    default:
      return undefined;
  }
}

export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const apiErr = fromBodyParser(err) ?? toApiError(err);
    if (apiErr.status >= 500 && apiErr.code === 'internal') {
      logger.error({ err, method: req.method, path: req.path }, 'request failed');
    }
    const body: ErrorBody = { error: apiErr.code, message: apiErr.message, reason: apiErr.reason };
    res.status(apiErr.status).json(body);
  };
}

export const notFound: RequestHandler = (req, _res, next) => {
  next(new ApiError('not_found', `no route ${req.method} ${req.path}`));
};
