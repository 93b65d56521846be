/**
 * The CronJob `<name>-sync` that re-syncs a Chartmuseum on its schedule: a small HTTP client
 * image calls the sidecar's `/repo/<repoName>/update`. The token reaches the container only
 * through `valueFrom.secretKeyRef` and is sent as a header read from stdin, so it appears
 * neither in the CronJob nor on the container's command line. Pure: builds and compares
 * manifests, no I/O.
 */

import {
  API_VERSION,
  type Chartmuseum,
  cronJobNameOf,
  KIND,
  MANAGED_BY,
  OWNER_LABEL,
  repoNameOf,
} from './resource.js';
import { scheduleOf } from './schedule.js';
import { stableJson } from './stable-json.js';

export const SYNC_COMPONENT = 'chartsync-sync';
export const CONTAINER_NAME = 'sync';

/** The container's script: POST the update, fail (non-zero) on any non-2xx answer. */
export const SYNC_SCRIPT = [
  'set -e',
  'if [ -n "$SIDECAR_TOKEN" ]; then printf \'Authorization: Bearer %s\\n\' "$SIDECAR_TOKEN"; fi |',
  '  curl -fsS --max-time 3600 --retry 3 --retry-connrefused -X POST -H @- "$SIDECAR_URL/repo/$REPO_NAME/update"',
].join('\n');

export interface CronJobSettings {
  image: string;
  sidecarUrl: string;
  /** Secret (same namespace) holding the sidecar token under key `token`; undefined = no token. */
  tokenSecretName: string | undefined;
}

// Loose JSON shapes: the manifests are sent as plain JSON.
export interface CronJob {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace: string;
    labels?: Record<string, string>;
    ownerReferences?: Array<{
      apiVersion: string;
      kind: string;
      name: string;
      uid: string;
      controller?: boolean;
      blockOwnerDeletion?: boolean;
    }>;
    resourceVersion?: string;
    [k: string]: unknown;
  };
  spec: Record<string, unknown> & {
    schedule: string;
    suspend?: boolean;
    concurrencyPolicy?: string;
    jobTemplate: {
      spec: { template: { metadata?: { labels?: Record<string, string> }; spec: PodSpec } } & Record<
        string,
        unknown
      >;
    };
  };
}

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean } };
}

interface PodSpec {
  restartPolicy?: string;
  automountServiceAccountToken?: boolean;
  containers: Array<{
    name: string;
    image?: string;
    command?: string[];
    args?: string[];
    env?: EnvVar[];
    [k: string]: unknown;
  }>;
  [k: string]: unknown;
}

export function labelsOf(cm: Chartmuseum): Record<string, string> {
  return {
    'app.kubernetes.io/managed-by': MANAGED_BY,
    'app.kubernetes.io/component': SYNC_COMPONENT,
    [OWNER_LABEL]: cm.metadata.name,
  };
}

/** The controller reference of what the operator creates for a resource (CronJob, token Secret). */
export function ownerReferenceTo(cm: Chartmuseum) {
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    name: cm.metadata.name,
    uid: cm.metadata.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

export function desiredCronJob(cm: Chartmuseum, s: CronJobSettings): CronJob {
  const labels = labelsOf(cm);
  const env: EnvVar[] = [
    { name: 'SIDECAR_URL', value: s.sidecarUrl },
    { name: 'REPO_NAME', value: repoNameOf(cm) },
  ];
  if (s.tokenSecretName)
    env.push({
      name: 'SIDECAR_TOKEN',
      valueFrom: { secretKeyRef: { name: s.tokenSecretName, key: 'token' } },
    });
  return {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: {
      name: cronJobNameOf(cm),
      namespace: cm.metadata.namespace,
      labels,
      ownerReferences: [ownerReferenceTo(cm)],
    },
    spec: {
      schedule: scheduleOf(cm.spec),
      suspend: cm.spec.suspend ?? false,
      concurrencyPolicy: 'Forbid',
      startingDeadlineSeconds: 300,
      successfulJobsHistoryLimit: 1,
      failedJobsHistoryLimit: 3,
      jobTemplate: {
        spec: {
          backoffLimit: 2,
          ttlSecondsAfterFinished: 86_400,
          template: {
            metadata: { labels },
            spec: {
              restartPolicy: 'Never',
              automountServiceAccountToken: false,
              securityContext: {
                runAsNonRoot: true,
                runAsUser: 100,
                runAsGroup: 101,
                seccompProfile: { type: 'RuntimeDefault' },
              },
              containers: [
                {
                  name: CONTAINER_NAME,
                  image: s.image,
                  command: ['/bin/sh', '-c', SYNC_SCRIPT],
                  env,
                  resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { memory: '64Mi' } },
                  securityContext: {
                    allowPrivilegeEscalation: false,
                    readOnlyRootFilesystem: true,
                    capabilities: { drop: ['ALL'] },
                  },
                },
              ],
            },
          },
        },
      },
    },
  };
}

/**
 * The fields the operator owns, in a canonical form: when the live CronJob's projection differs
 * from the desired one, someone edited it and it is put back. Fields the API server defaults
 * are left out so they never count as drift.
 */
function projection(cj: CronJob): unknown {
  const pod = cj.spec.jobTemplate?.spec?.template;
  const c = pod?.spec?.containers ?? [];
  return {
    labels: cj.metadata.labels ?? {},
    owners: (cj.metadata.ownerReferences ?? []).filter((o) => o.controller).map((o) => o.uid),
    schedule: cj.spec.schedule,
    suspend: cj.spec.suspend ?? false,
    concurrencyPolicy: cj.spec.concurrencyPolicy,
    podLabels: pod?.metadata?.labels ?? {},
    restartPolicy: pod?.spec?.restartPolicy,
    automount: pod?.spec?.automountServiceAccountToken,
    containers: c.map((x) => ({
      name: x.name,
      image: x.image,
      command: x.command ?? [],
      args: x.args ?? [],
      env: (x.env ?? []).map((e) => ({
        name: e.name,
        value: e.value,
        ref: e.valueFrom?.secretKeyRef && {
          n: e.valueFrom.secretKeyRef.name,
          k: e.valueFrom.secretKeyRef.key,
        },
      })),
    })),
  };
}

/** True when the live CronJob no longer matches what the operator wants. */
export function hasDrifted(live: CronJob, desired: CronJob): boolean {
  return stableJson(projection(live)) !== stableJson(projection(desired));
}
