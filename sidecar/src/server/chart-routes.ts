/**
 * The built-in read-only Helm repository over the local storage dir: `/charts/<repo>/index.yaml`
 * and `/charts/<repo>/<name>-<version>.tgz`. Index URLs are relative, so the repository works
 * under whatever host name it is reached by.
 */

import { nameSchema } from '@chartsync/api/schemas';
import { Router } from 'express';

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
        if (err && !res.headersSent) next();
      },
    );
  });
  return router;
}
