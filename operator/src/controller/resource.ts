/**
 * The Chartmuseum custom resource (cm.bitnami.com/v1alpha1) as the operator sees it. The schema
 * itself lives in chart/files/chartmuseums.cm.bitnami.com.yaml, the single source of truth.
 */
export const GROUP = 'cm.bitnami.com';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;
export const KIND = 'Chartmuseum';
export const PLURAL = 'chartmuseums';
/** Held while the sidecar repo and the CronJob may still exist. */
export const FINALIZER = 'cm.bitnami.com/chartsync';
export const MANAGED_BY = 'chartsync-operator';
/** Label on the CronJob naming its Chartmuseum (the owner reference carries the uid). */
export const OWNER_LABEL = 'cm.bitnami.com/chartmuseum';

export interface SecretRef {
  name: string;
}

export interface DependencySpec {
  name: string;
  url: string;
  mirrorOf?: string;
  secretRef?: SecretRef;
  /** oci:// only: a Secret whose `key` (default `ca.crt`) holds PEM CA certificates for the registry. */
  caSecretRef?: SecretRef & { key?: string };
  /** oci:// only: reach the registry over plain HTTP. */
  insecurePlainHttp?: boolean;
}

export interface ChartmuseumSpec {
  git: string;
  ref?: string;
  paths?: string[];
  secretRef?: SecretRef;
  repoName?: string;
  updateEveryMinutes?: number;
  schedule?: string;
  prune?: boolean;
  suspend?: boolean;
  dependencies?: DependencySpec[];
}

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

export interface ChartRef {
  name: string;
  version: string;
}

export interface ChartmuseumStatus {
  observedGeneration?: number;
  repoName?: string;
  url?: string;
  lastSyncedCommit?: string;
  lastSyncTime?: string;
  chartCount?: number;
  charts?: ChartRef[];
  conditions?: Condition[];
}

export interface ObjectMeta {
  name: string;
  namespace: string;
  uid: string;
  generation?: number;
  resourceVersion?: string;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  finalizers?: string[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface Chartmuseum {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec: ChartmuseumSpec;
  status?: ChartmuseumStatus;
}

export function keyOf(obj: { metadata?: { namespace?: string; name?: string } }): string {
  return `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;
}

export function splitKey(key: string): { namespace: string; name: string } {
  const i = key.indexOf('/');
  return { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

/** The chart repository name the resource asks for. */
export function repoNameOf(cm: Chartmuseum): string {
  return cm.spec.repoName ?? cm.metadata.name;
}

export function cronJobNameOf(cm: Chartmuseum): string {
  return `${cm.metadata.name}-sync`;
}

/** The Secret holding the CronJob's update token (scoped to this resource's repo only). */
export function tokenSecretNameOf(cm: Chartmuseum): string {
  return `${cm.metadata.name}-sync-token`;
}

export function isDeleting(cm: Chartmuseum): boolean {
  return Boolean(cm.metadata.deletionTimestamp);
}

export function hasFinalizer(cm: Chartmuseum): boolean {
  return cm.metadata.finalizers?.includes(FINALIZER) ?? false;
}
