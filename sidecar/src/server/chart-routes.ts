/**
 * The built-in read-only Helm repository over the local storage dir: `/charts/<repo>/index.yaml`
 * and `/charts/<repo>/<name>-<version>.tgz`. Index URLs are relative, so the repository works
 * under whatever host name it is reached by.
 */

import { nameSchema } from '@chartsync/api/schemas';
import { type NextFunction, type Response, Router } from 'express';

const ARCHIVE = /^[A-Za-z0-9][A-Za-z0-9._+-]*\.tgz(\.prov)?$/;

export function chartRoutes(storageDir: string): Router {
  const router = Router();
  router.get('/charts/:repo/:file', (req, res, next) => {
    const { repo, file } = req.params;
    if (!nameSchema.safeParse(repo).success || !(file === 'index.yaml' || ARCHIVE.test(file))) return next();
    const type = file === 'index.yaml' ? 'application/x-yaml' : 'application/gzip';
    res.sendFile(
      `${repo}/${file}`,
      { root: storageDir, dotfiles: 'deny', headers: { 'content-type': type } },
      (err) => {
        if (err && !res.headersSent) fileNotSent(err, res, next);
      },
    );
  });
  return router;
}

/**
 * A file that exists but was not sent: a range past its end (416) or a failed `If-Match` /
 * `If-Unmodified-Since` (412) answer as a static file server does, with the headers `send`
 * gives (the `Content-Range` of the size); anything else (no such file) is the 404 of no route.
 * The archive's content type, set once the file was found, must not label the answer.
 */
function fileNotSent(
  err: Error & { status?: number; headers?: Record<string, string> },
  res: Response,
  next: NextFunction,
): void {
  res.removeHeader('content-type');
  if (err.status !== 416 && err.status !== 412) {
    next();
    return;
  }
  res
    .status(err.status)
    .set(err.headers ?? {})
    .end();
}
