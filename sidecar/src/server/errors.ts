/**
 * The one place where failures become `{ error, message, reason }` answers with the design's
 * status codes. A request the client got wrong (bad percent-encoding in the path, a body that
 * does not parse, an aborted upload) is a 4xx logged at debug: anonymous clients must not be
 * able to fill the error log with stack traces. Messages never quote the body (it may hold
 * credentials).
 */
import { ApiError, type ErrorBody } from '@chartsync/api';
import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from '../log/logger.js';
import { toApiError } from '../sync/errors.js';

interface HttpError {
  type?: string;
  limit?: number;
  status?: number;
  statusCode?: number;
  message?: string;
}

/** Errors of the request itself, raised by express' router and body parsers (http-errors). */
export function fromClientError(err: unknown): ApiError | undefined {
  if (!err || typeof err !== 'object' || err instanceof ApiError) return undefined;
  const e = err as HttpError;
  if (err instanceof URIError)
    return new ApiError('invalid_input', 'the request path has malformed percent-encoding', { cause: err });
  switch (e.type) {
    case 'entity.too.large':
      return new ApiError('payload_too_large', `request body exceeds the limit of ${e.limit} bytes`);
    case 'entity.parse.failed':
      return new ApiError('invalid_input', `request body is not valid JSON${jsonPosition(e.message)}`);
    // body-parser says 413 here, but too many fields is a malformed form, not a large one
    case 'parameters.too.many':
      return new ApiError('invalid_input', `request body rejected: ${e.message}`);
    case 'request.aborted':
      return new ApiError('invalid_input', 'the request body was aborted before it was complete');
  }
  const status = e.status ?? e.statusCode;
  if (typeof status !== 'number' || status < 400 || status > 499) return undefined;
  if (status === 413) return new ApiError('payload_too_large', 'request body too large');
  // the parsers' own words name the encoding, charset or count, never the body's content
  return new ApiError('invalid_input', `request rejected: ${e.message ?? 'bad request'}`);
}

/** "at position N" of a JSON.parse message, without the excerpt of the body it quotes. */
function jsonPosition(message: string | undefined): string {
  const at = /position (\d+)/.exec(message ?? '')?.[1];
  return at === undefined ? '' : ` (at position ${at})`;
}

export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const client = fromClientError(err);
    const apiErr = client ?? toApiError(err);
    if (client) {
      res.locals.clientError = true;
      logger.debug({ method: req.method, err: apiErr.message }, 'malformed request refused');
    } else if (apiErr.status >= 500 && apiErr.code === 'internal') {
      logger.error({ err, method: req.method, path: req.path }, 'request failed');
    }
    // an aborted upload has no one left to answer
    if (res.headersSent || (err as HttpError)?.type === 'request.aborted') return;
    const body: ErrorBody = { error: apiErr.code, message: apiErr.message, reason: apiErr.reason };
    res.status(apiErr.status).json(body);
  };
}

export const notFound: RequestHandler = (req, _res, next) => {
  next(new ApiError('not_found', `no route ${req.method} ${req.path}`));
};
