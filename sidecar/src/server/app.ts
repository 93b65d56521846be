/** The express application of the sidecar: middleware order, route groups, errors. */

import { ApiError } from '@chartsync/api';
import express, { type Express, type Request, type RequestHandler } from 'express';
import type { Logger } from '../log/logger.js';
import type { SidecarMetrics } from '../metrics/metrics.js';
import type { SyncService } from '../sync/service.js';
import { requireBearer } from './auth.js';
import { chartRoutes } from './chart-routes.js';
import { errorHandler, notFound } from './errors.js';
import { opsRoutes } from './ops-routes.js';
import { repoRoutes } from './repo-routes.js';

export interface AppOptions {
  service: SyncService;
  logger: Logger;
  metrics: SidecarMetrics;
  /** Bearer token required on `/repo` routes; none = open. */
  token?: string;
  /** Maximum request body, e.g. "1mb". */
  bodyLimit?: string | number;
  /** Serve the read-only chart repository from this storage dir under `/charts`. */
  chartsDir?: string;
  shuttingDown: () => boolean;
}

const QUIET = new Set(['/healthz', '/readyz', '/metrics']);

export function createApp(opts: AppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.use(observe(opts.logger, opts.metrics));
  app.use(opsRoutes(opts.service.publisher, opts.metrics, opts.shuttingDown, opts.service.dataDir));
  app.use(refuseWhileStopping(opts.shuttingDown));
  if (opts.chartsDir) app.use(chartRoutes(opts.chartsDir));
  app.use('/repo', requireBearer(opts.token));
  app.use(repoRoutes({ service: opts.service, bodyLimit: opts.bodyLimit ?? '1mb' }));
  app.use(notFound);
  app.use(errorHandler(opts.logger));
  return app;
}

/** Request log line and metrics per request; route labels use the route pattern, not the raw path. */
function observe(logger: Logger, metrics: SidecarMetrics): RequestHandler {
  return (req, res, next) => {
    const started = performance.now();
    res.on('finish', () => {
      const seconds = (performance.now() - started) / 1000;
      const route = routeLabel(req);
      metrics.httpRequests.inc({ method: req.method, route, status: String(res.statusCode) });
      metrics.httpDuration.observe({ method: req.method, route }, seconds);
      const line = {
        method: req.method,
        path: req.path,
        status: res.statusCode,
        ms: Math.round(seconds * 1000),
      };
      const quiet = (QUIET.has(req.path) && res.statusCode < 400) || res.locals.clientError === true;
      if (quiet) logger.debug(line, 'request');
      else logger.info(line, 'request');
    });
    next();
  };
}

/**
 * The route pattern of a request, or one fixed label when no route took it: a request refused
 * before routing (401 without a token, 400 for a malformed path, 413, 503) must not label
 * metrics by its raw path, or anonymous requests to made-up paths add a time series each
 * (unbounded memory, a scrape that grows without end).
 */
function routeLabel(req: Request): string {
  if (req.route?.path) return `${req.baseUrl}${req.route.path}`;
  const path = req.originalUrl;
  if (path === '/repo' || path.startsWith('/repo/') || path.startsWith('/repo?')) return '/repo (unrouted)';
  return 'unmatched';
}

function refuseWhileStopping(shuttingDown: () => boolean): RequestHandler {
  return (_req, res, next) => {
    if (!shuttingDown()) return next();
    res.set('Connection', 'close');
    next(new ApiError('shutting_down', 'the sidecar is shutting down'));
  };
}
