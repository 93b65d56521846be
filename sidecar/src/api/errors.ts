/**
 * The error type every layer below the HTTP server throws when the cause maps to one of the
 * API's error codes; the server turns it into `{ error, message }` with the matching status.
 */
import type { ErrorCode } from './types.js';

const STATUS: Record<ErrorCode, number> = {
  invalid_input: 400,
  unauthorized: 401,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  upstream_failed: 502,
  shutting_down: 503,
  internal: 500,
};

export class ApiError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ApiError';
    this.code = code;
    this.status = STATUS[code];
  }
}

export function statusOf(code: ErrorCode): number {
  return STATUS[code];
}
