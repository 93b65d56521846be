/** Prometheus metrics of the operator (served on /metrics). */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'chartsync_operator_' });
  return {
    registry,
    reconciles: new Counter({
      name: 'chartsync_operator_reconcile_total',
      help: 'Reconciles of Chartmuseum resources by result (ok, error).',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    reconcileSeconds: new Histogram({
      name: 'chartsync_operator_reconcile_duration_seconds',
      help: 'Duration of one reconcile, sidecar calls included.',
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120, 600],
      registers: [registry],
    }),
    queueDepth: new Gauge({
      name: 'chartsync_operator_queue_depth',
      help: 'Keys waiting in the work queue.',
      registers: [registry],
    }),
    leader: new Gauge({
      name: 'chartsync_operator_leader',
      help: '1 while this instance is the leader.',
      registers: [registry],
    }),
    ready: new Gauge({
      name: 'chartsync_operator_resources',
      help: 'Chartmuseum resources by Ready reason, as last reconciled.',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    sidecarErrors: new Counter({
      name: 'chartsync_operator_sidecar_errors_total',
      help: 'Failed sidecar calls by condition reason.',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
