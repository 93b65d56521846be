/**
 * `chartsync-operator`: reconciles Chartmuseum resources into sidecar calls and CronJobs.
 * Configured by environment variables (see config.ts and docs/operator.md).
 */

import { SidecarClient } from '@chartsync/api';
import { ConfigError, loadConfig } from './config.js';
import { Controller } from './controller/controller.js';
import { AccessError, loadAccess } from './kube/access.js';
import { KubeClient } from './kube/client.js';
import { LeaderElector } from './kube/leader.js';
import { createLogger } from './log.js';
import { createMetrics } from './runtime/metrics.js';
import { portOf, startServer } from './runtime/server.js';

const SHUTDOWN_GRACE_MS = 20_000;

const USAGE = `Usage: chartsync-operator

Reconciles Chartmuseum resources (cm.bitnami.com/v1alpha1) into chartsync sidecar calls and
sync CronJobs. Configuration by environment:
  SIDECAR_URL             sidecar base URL (required), e.g. http://chartmuseum:3000
  SIDECAR_TOKEN           sidecar API token, or SIDECAR_TOKEN_FILE: a file holding it
  CHARTMUSEUM_URL         base URL of the published repositories (status.url)
  WATCH_NAMESPACE         namespace to watch ("" = all)
  CRONJOB_IMAGE           image of the sync CronJobs (default a curl image)
  LEADER_ELECTION         true/false (default true in a cluster)
  KUBECONFIG              kubeconfig outside a cluster
  PORT                    port of /healthz, /readyz, /metrics (default 8081)
  LOG_LEVEL               pino level (default info)
Tuning: RESYNC_SECONDS, PROGRESS_POLL_MS, BACKOFF_BASE_MS, BACKOFF_MAX_MS, WORKERS, LEASE_DURATION_SECONDS,
RENEW_DEADLINE_SECONDS, RETRY_PERIOD_MS, POD_NAMESPACE, POD_NAME, CRONJOB_SIDECAR_URL.
`;

export async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (argv.length > 0) {
    process.stderr.write(`chartsync-operator: unexpected arguments: ${argv.join(' ')}\n\n${USAGE}`);
    return 2;
  }
  let cfg: ReturnType<typeof loadConfig>;
  try {
    cfg = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`chartsync-operator: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const log = createLogger();
  let access: Awaited<ReturnType<typeof loadAccess>>;
  try {
    access = await loadAccess();
  } catch (err) {
    if (err instanceof AccessError) {
      process.stderr.write(`chartsync-operator: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const client = new KubeClient(access);
  const metrics = createMetrics();
  const sidecar = new SidecarClient({ baseUrl: cfg.sidecarUrl, token: cfg.sidecarToken });
  const controller = new Controller({ client, sidecar, cfg, log, metrics });
  const elector = cfg.leaderElection
    ? new LeaderElector(client, {
        namespace: cfg.leaseNamespace,
        name: cfg.leaseName,
        identity: cfg.identity,
        leaseDurationMs: cfg.leaseDurationMs,
        renewDeadlineMs: cfg.renewDeadlineMs,
        retryPeriodMs: cfg.retryPeriodMs,
        log,
      })
    : undefined;
  let leading = false;
  const server = await startServer(cfg.port, metrics.registry, {
    ready: () => !leading || controller.synced,
  });
  log.info(
    {
      port: portOf(server),
      identity: cfg.identity,
      leaderElection: cfg.leaderElection,
      sidecar: cfg.sidecarUrl,
      apiServer: access.server,
      apiAccess: access.kind,
    },
    'operator listening',
  );

  return new Promise<number>((resolve) => {
    let exiting = false;
    /** `drain`: let reconciles in flight finish (bounded); false once another instance may lead. */
    const exit = async (code: number, why: string, drain = true) => {
      if (exiting) return;
      exiting = true;
      log.info({ reason: why }, 'shutting down');
      // Reconciles in flight may wait on a long sync: give them a bounded grace period. Not after
      // losing the lease: the new leader acts already, and a reconcile finishing here would
      // register or write what it read before (they are idempotent: the new leader redoes them).
      const grace = new Promise((r) => setTimeout(r, drain ? SHUTDOWN_GRACE_MS : 0).unref());
      await Promise.race([controller.stop(), grace]);
      await elector?.stop();
      metrics.leader.set(0);
      client.close();
      server.close();
      resolve(code);
    };
    const begin = () => {
      leading = true;
      metrics.leader.set(1);
      controller.start().catch((err) => {
        log.error({ err: (err as Error).message }, 'controller failed to start');
        void exit(1, 'start failed');
      });
    };
    process.once('SIGTERM', () => void exit(0, 'SIGTERM'));
    process.once('SIGINT', () => void exit(0, 'SIGINT'));
    if (elector) {
      log.info({ lease: `${cfg.leaseNamespace}/${cfg.leaseName}` }, 'waiting for leadership');
      // Losing the lease means another instance may act: stop at once; the pod restarts.
      void elector.run(begin, () => void exit(1, 'lost leadership', false));
    } else {
      begin();
    }
  });
}
