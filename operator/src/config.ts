/**
 * Operator configuration, read from the environment (docs/operator.md, settings: SIDECAR_URL, SIDECAR_TOKEN /
 * SIDECAR_TOKEN_FILE, WATCH_NAMESPACE, CRONJOB_IMAGE, LEADER_ELECTION, KUBECONFIG) plus tuning
 * knobs with production defaults that tests shorten.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { tokenFromEnv } from '@chartsync/api';

export interface OperatorConfig {
  sidecarUrl: string;
  sidecarToken: string | undefined;
  /** URL the CronJob pods use to reach the sidecar (default sidecarUrl). */
  cronJobSidecarUrl: string;
  /** Base URL of the published repositories for status.url (default sidecarUrl's host). */
  chartmuseumUrl: string;
  /** "" = all namespaces. */
  watchNamespace: string;
  cronJobImage: string;
  /** Name of the per-namespace Secret holding the sidecar token for the CronJobs. */
  tokenSecretName: string;
  leaderElection: boolean;
  leaseName: string;
  leaseNamespace: string;
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  port: number;
  resyncMs: number;
  /** How often a resource whose first sync runs asks the sidecar for its progress. */
  progressPollMs: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  workers: number;
  inCluster: boolean;
}

export const DEFAULT_CRONJOB_IMAGE = 'docker.io/curlimages/curl:8.17.0';
const SA_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Env = Record<string, string | undefined>;

function int(env: Env, key: string, def: number, min = 0): number {
  const raw = env[key];
  if (raw === undefined || raw === '') return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new ConfigError(`${key}=${raw}: expected an integer >= ${min}`);
  return n;
}

function bool(env: Env, key: string, def: boolean): boolean {
  const raw = env[key]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return def;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  throw new ConfigError(`${key}=${env[key]}: expected true or false`);
}

function url(key: string, value: string): string {
  try {
    const u = new URL(value);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('not http(s)');
  } catch {
    throw new ConfigError(`${key}=${value}: expected an http(s) URL`);
  }
  return value.replace(/\/+$/, '');
}

/** The token, as @chartsync/api's tokenFromEnv reads it: an empty token file is an error. */
function readToken(env: Env): string | undefined {
  try {
    return tokenFromEnv(env);
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
}

function ownNamespace(env: Env): string {
  if (env.POD_NAMESPACE) return env.POD_NAMESPACE;
  try {
    return readFileSync(SA_NAMESPACE_FILE, 'utf8').trim();
  } catch {
    return 'default';
  }
}

export function loadConfig(env: Env = process.env): OperatorConfig {
  if (!env.SIDECAR_URL) throw new ConfigError('SIDECAR_URL is required (e.g. http://chartmuseum:3000)');
  const sidecarUrl = url('SIDECAR_URL', env.SIDECAR_URL);
  const inCluster = Boolean(env.KUBERNETES_SERVICE_HOST) && !env.KUBECONFIG;
  const leaseDurationMs = int(env, 'LEASE_DURATION_SECONDS', 15, 1) * 1000;
  return {
    sidecarUrl,
    sidecarToken: readToken(env),
    cronJobSidecarUrl: env.CRONJOB_SIDECAR_URL
      ? url('CRONJOB_SIDECAR_URL', env.CRONJOB_SIDECAR_URL)
      : sidecarUrl,
    chartmuseumUrl: env.CHARTMUSEUM_URL ? url('CHARTMUSEUM_URL', env.CHARTMUSEUM_URL) : sidecarUrl,
    watchNamespace: env.WATCH_NAMESPACE?.trim() ?? '',
    cronJobImage: env.CRONJOB_IMAGE?.trim() || DEFAULT_CRONJOB_IMAGE,
    tokenSecretName: env.CRONJOB_TOKEN_SECRET?.trim() || 'chartsync-sidecar-token',
    leaderElection: bool(env, 'LEADER_ELECTION', inCluster),
    leaseName: env.LEASE_NAME?.trim() || 'chartsync-operator',
    leaseNamespace: ownNamespace(env),
    identity: env.POD_NAME || `${hostname()}-${process.pid}`,
    leaseDurationMs,
    renewDeadlineMs:
      int(env, 'RENEW_DEADLINE_SECONDS', Math.max(1, Math.floor((leaseDurationMs * 2) / 3000)), 1) * 1000,
    retryPeriodMs: int(env, 'RETRY_PERIOD_MS', Math.max(200, Math.floor(leaseDurationMs / 7)), 50),
    port: int(env, 'PORT', 8081),
    resyncMs: int(env, 'RESYNC_SECONDS', 60, 1) * 1000,
    progressPollMs: int(env, 'PROGRESS_POLL_MS', 2000, 50),
    backoffBaseMs: int(env, 'BACKOFF_BASE_MS', 1000, 1),
    backoffMaxMs: int(env, 'BACKOFF_MAX_MS', 5 * 60_000, 1),
    workers: int(env, 'WORKERS', 4, 1),
    inCluster,
  };
}
