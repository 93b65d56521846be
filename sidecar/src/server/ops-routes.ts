/** Liveness, readiness (the publishing target answers) and Prometheus metrics. */

import type { ErrorBody } from '@chartsync/api';
import { Router } from 'express';
import type { SidecarMetrics } from '../metrics/metrics.js';
import { isStorageFull, type Publisher } from '../publish/publisher.js';
import { probeWritable } from '../storage/probe.js';

export function opsRoutes(
  publisher: Publisher,
  metrics: SidecarMetrics,
  shuttingDown: () => boolean,
  /** Registrations, sync state, clones: a sidecar that cannot write here cannot sync either. */
  dataDir: string,
): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    if (shuttingDown()) {
      const body: ErrorBody = {
        error: 'shutting_down',
        message: 'the sidecar is shutting down',
        reason: 'ShuttingDown',
      };
      res.status(503).json(body);
      return;
    }
    try {
      await probeWritable(dataDir);
    } catch (err) {
      const full = isStorageFull(err);
      const body: ErrorBody = {
        error: 'upstream_failed',
        message: `the data dir ${dataDir} is not writable: ${(err as Error).message}`,
        reason: full ? 'StorageFull' : 'Internal',
      };
      res.status(503).json(body);
      return;
    }
    try {
      await publisher.check();
      res.json({ status: 'ready', target: publisher.target });
    } catch (err) {
      const full = isStorageFull(err);
      const body: ErrorBody = {
        error: 'upstream_failed',
        message: `${publisher.target} is not ${full ? 'writable' : 'reachable'}: ${(err as Error).message}`,
        reason: full ? 'StorageFull' : 'PublishFailed',
      };
      res.status(503).json(body);
    }
  });
  router.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  return router;
}
