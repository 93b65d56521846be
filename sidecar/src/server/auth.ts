/**
 * Bearer-token authentication of the `/repo` routes. The admin token may call every route; an
 * update token (see @chartsync/api tokens.ts) only `GET`/`POST /repo/<its repo>/update`, anything
 * else with it is 403 Forbidden. Tokens are compared through their SHA-256 digests with
 * `timingSafeEqual`, so neither the content nor the length of a token leaks through timing.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { ApiError, claimedRepo, updateTokenFor } from '@chartsync/api';
import type { Request, RequestHandler } from 'express';

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

export function tokenMatches(expected: string, given: string): boolean {
  return timingSafeEqual(digest(expected), digest(given));
}

/** What `given` may do under the admin token `admin`. */
export function tokenScope(admin: string, given: string): { admin: true } | { repo: string } | undefined {
  if (tokenMatches(admin, given)) return { admin: true };
  const repo = claimedRepo(given);
  if (repo !== undefined && tokenMatches(updateTokenFor(admin, repo), given)) return { repo };
  return undefined;
}

/**
 * Is this request the update of `repo`? The path is decoded the way the router decodes its
 * `:name` parameter, so `/repo/a%62c/update` is the update of "abc" here as there.
 */
export function isUpdateOf(req: Pick<Request, 'method' | 'path'>, repo: string): boolean {
  if (req.method !== 'GET' && req.method !== 'POST') return false;
  const m = /^\/([^/]+)\/update\/?$/.exec(req.path);
  if (!m) return false;
  try {
    return decodeURIComponent(m[1] as string) === repo;
  } catch {
    return false;
  }
}

/** No token configured: every request passes. Mounted on `/repo`, so `req.path` is below it. */
export function requireBearer(token: string | undefined): RequestHandler {
  return (req, res, next) => {
    if (!token) return next();
    const header = req.get('authorization') ?? '';
    const match = /^Bearer\s+(.+)$/i.exec(header.trim());
    if (!match) {
      res.set('WWW-Authenticate', 'Bearer realm="chartsync"');
      return next(new ApiError('unauthorized', 'missing bearer token: send "Authorization: Bearer <token>"'));
    }
    const scope = tokenScope(token, match[1] as string);
    if (!scope) {
      res.set('WWW-Authenticate', 'Bearer realm="chartsync", error="invalid_token"');
      return next(new ApiError('unauthorized', 'the bearer token is wrong'));
    }
    if ('admin' in scope || isUpdateOf(req, scope.repo)) return next();
    res.set('WWW-Authenticate', 'Bearer realm="chartsync", error="insufficient_scope"');
    return next(
      new ApiError(
        'forbidden',
        `this token may only trigger updates of repository "${scope.repo}" (GET or POST /repo/${scope.repo}/update)`,
      ),
    );
  };
}
