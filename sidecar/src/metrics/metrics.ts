/**
 * Prometheus metrics of the sidecar, on a registry of its own (several servers can live in one
 * process, e.g. in tests, without clashing on the global registry).
 */
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';

export interface SidecarMetrics {
  registry: Registry;
  syncs: Counter<'repo' | 'result'>;
  syncDuration: Histogram<'result'>;
  chartsPublished: Counter<'repo' | 'action'>;
  httpRequests: Counter<'method' | 'route' | 'status'>;
  httpDuration: Histogram<'method' | 'route'>;
}

export function createMetrics(): SidecarMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'chartsync_' });
  return {
    registry,
    syncs: new Counter({
      name: 'chartsync_syncs_total',
      help: 'Repository syncs by result (unchanged, changed, failed)',
      labelNames: ['repo', 'result'],
      registers: [registry],
    }),
    syncDuration: new Histogram({
      name: 'chartsync_sync_duration_seconds',
      help: 'Duration of repository syncs by result',
      labelNames: ['result'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers: [registry],
    }),
    chartsPublished: new Counter({
      name: 'chartsync_charts_total',
      help: 'Chart versions handled by syncs, by action (published, pruned, conflict, failed)',
      labelNames: ['repo', 'action'],
      registers: [registry],
    }),
    httpRequests: new Counter({
      name: 'chartsync_http_requests_total',
      help: 'HTTP requests by method, route and status',
      labelNames: ['method', 'route', 'status'],
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: 'chartsync_http_request_duration_seconds',
      help: 'HTTP request durations by method and route',
      labelNames: ['method', 'route'],
      registers: [registry],
    }),
  };
}
