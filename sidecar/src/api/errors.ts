/**
 * The error type every layer below the HTTP server throws when the cause maps to one of the
 * API's error codes; the server turns it into `{ error, message }` with the matching status.
 */
import type { Reason } from './reasons.js';
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
  /** The machine reason, when the layer that failed knows one (see reasons.ts). */
  readonly reason: Reason | undefined;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; reason?: Reason }) {
    super(message, options?.cause === undefined ? {} : { cause: options.cause });
    this.name = 'ApiError';
    this.code = code;
    this.status = STATUS[code];
    this.reason = options?.reason;
  }
}

export function statusOf(code: ErrorCode): number {
  return STATUS[code];
}
