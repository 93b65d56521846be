/**
 * The composition root of the sidecar: builds the publisher, registry, sync service, scheduler
 * and HTTP server from a `SidecarConfig`, registers what a standalone config lists, and stops it
 * all gracefully (in-flight syncs end cleanly, new requests get 503).
 */
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SidecarConfig } from '../config/config.js';
import type { Logger } from '../log/logger.js';
import { createMetrics } from '../metrics/metrics.js';
import { createPublisher } from '../publish/factory.js';
import { RegistryStore } from '../registry/store.js';
import { scheduleOf } from '../standalone/schedule.js';
import { Scheduler } from '../standalone/scheduler.js';
import { SyncService } from '../sync/service.js';
import { createApp } from './app.js';

export interface RunningSidecar {
  port: number;
  service: SyncService;
  /** Stops taking requests, ends in-flight syncs, closes the server. Idempotent. */
  stop(): Promise<void>;
}

export async function startSidecar(config: SidecarConfig, logger: Logger): Promise<RunningSidecar> {
  const registry = new RegistryStore(config.dataDir);
  await registry.load();
  const publisher = await createPublisher(config);
  const metrics = createMetrics();
  // The scheduler follows every registration and removal, from the config or the API alike.
  let scheduler: Scheduler | undefined;
  const service = new SyncService({
    dataDir: config.dataDir,
    registry,
    publisher,
    policy: config.policy,
    logger,
    metrics,
    build: config.build,
    maxCheckoutSize: config.maxCheckoutSize,
    listener: {
      registered: async (repo) => scheduler?.set(repo.name, scheduleOf(repo)),
      removed: async (name) => scheduler?.set(name, undefined),
    },
  });
  scheduler = new Scheduler(service, logger);
  await service.init();
  // Registrations kept from an earlier run keep their schedules.
  for (const repo of registry.repos()) await scheduler.set(repo.name, scheduleOf(repo));
  let stopping = false;
  const app = createApp({
    service,
    logger,
    metrics,
    ...(config.token ? { token: config.token } : {}),
    bodyLimit: config.bodyLimit,
    ...(config.serveCharts && config.storageDir ? { chartsDir: config.storageDir } : {}),
    shuttingDown: () => stopping,
  });
  const server: Server = app.listen(config.port, config.host ?? '0.0.0.0');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  await registerStandalone(config, service);
  logger.info(
    {
      port,
      target: publisher.target,
      tokenRequired: Boolean(config.token),
      charts: config.serveCharts ? `/charts/<repo>/index.yaml` : undefined,
    },
    'sidecar listening',
  );
  // Allowed (the embedded default on a laptop), but never silently: anyone who reaches the port
  // may register repositories, trigger syncs and delete every published chart.
  if (!config.token)
    logger.warn(
      { port, host: config.host ?? '0.0.0.0' },
      'no API token: every /repo route (register, update, delete) is open to whoever reaches this port; set SIDECAR_TOKEN or SIDECAR_TOKEN_FILE',
    );

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      stopping = true;
      logger.info('shutting down: finishing in-flight syncs');
      await scheduler?.stop();
      await service.shutdown();
      server.closeIdleConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      logger.info('stopped');
    })();
    return stopped;
  };
  return { port, service, stop };
}

/** Standalone: the config's registrations win over persisted ones of the same name; first syncs run in the background. */
async function registerStandalone(config: SidecarConfig, service: SyncService): Promise<void> {
  for (const dep of config.dependencies) await service.upsertDependency(dep);
  for (const repo of config.repos) {
    await service.register(repo);
    service.updateInBackground(repo.name);
  }
}
