/**
 * Bearer-token authentication of the `/repo` routes. Tokens are compared through their SHA-256
 * digests with `timingSafeEqual`, so neither the content nor the length of the configured token
 * leaks through response timing.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { ApiError } from '@chartsync/api';
import type { RequestHandler } from 'express';

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

export function tokenMatches(expected: string, given: string): boolean {
  return timingSafeEqual(digest(expected), digest(given));
}

/** No token configured: every request passes. */
export function requireBearer(token: string | undefined): RequestHandler {
  return (req, res, next) => {
    if (!token) return next();
    const header = req.get('authorization') ?? '';
    const match = /^Bearer\s+(.+)$/i.exec(header.trim());
    if (!match) {
      res.set('WWW-Authenticate', 'Bearer realm="chartsync"');
      return next(new ApiError('unauthorized', 'missing bearer token: send "Authorization: Bearer <token>"'));
    }
    if (!tokenMatches(token, match[1] as string)) {
      res.set('WWW-Authenticate', 'Bearer realm="chartsync", error="invalid_token"');
      return next(new ApiError('unauthorized', 'the bearer token is wrong'));
    }
    next();
  };
}
