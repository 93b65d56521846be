/**
 * The error type every layer below the HTTP server throws when the cause maps to one of the
 * API's error codes; the server turns it into `{ error, message, reason }` with the matching
 * status. The code says which HTTP status; the reason (reasons.ts) says which cause, for
 * machines. A code without a more specific reason gets its default reason.
 */
import type { Reason } from './reasons.js';
import type { ErrorCode } from './types.js';

const STATUS: Record<ErrorCode, number> = {
  invalid_input: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  upstream_failed: 502,
  shutting_down: 503,
  internal: 500,
};

const DEFAULT_REASON: Record<ErrorCode, Reason> = {
  invalid_input: 'InvalidInput',
  unauthorized: 'Unauthorized',
  forbidden: 'Forbidden',
  not_found: 'NotFound',
  conflict: 'RepoBusy',
  payload_too_large: 'PayloadTooLarge',
  upstream_failed: 'PublishFailed',
  shutting_down: 'ShuttingDown',
  internal: 'Internal',
};

export class ApiError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly reason: Reason;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; reason?: Reason }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ApiError';
    this.code = code;
    this.status = STATUS[code];
    this.reason = options?.reason ?? DEFAULT_REASON[code];
  }
}

export function statusOf(code: ErrorCode): number {
  return STATUS[code];
}
