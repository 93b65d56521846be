/** Liveness, readiness (the publishing target answers) and Prometheus metrics. */
import { Router } from 'express';
import type { SidecarMetrics } from '../metrics/metrics.js';
import type { Publisher } from '../publish/publisher.js';

export function opsRoutes(
  publisher: Publisher,
  metrics: SidecarMetrics,
  shuttingDown: () => boolean,
): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    if (shuttingDown()) {
      res.status(503).json({ error: 'shutting_down', message: 'the sidecar is shutting down' });
      return;
    }
    try {
      await publisher.check();
      res.json({ status: 'ready', target: publisher.target });
    } catch (err) {
      res.status(503).json({
        error: 'upstream_failed',
        message: `${publisher.target} is not reachable: ${(err as Error).message}`,
      });
    }
  });
  router.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  return router;
}
