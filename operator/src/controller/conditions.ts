/** The Ready condition: its reasons and how a new observation is merged into the list. */
import type { Condition } from './resource.js';

export const READY = 'Ready';

/**
 * A condition message's limit (the CRD's maxLength, as metav1.Condition's): a longer one, e.g. the
 * sidecar quoting a long failure, would make the API server refuse every status write.
 */
export const MESSAGE_MAX = 32_768;

function capped(message: string): string {
  return message.length <= MESSAGE_MAX ? message : `${message.slice(0, MESSAGE_MAX - 1)}…`;
}

/** Ready reasons; the failures map from the sidecar's machine reasons (outcome.ts, docs/reasons.md). */
export type Reason =
  | 'Synced'
  | 'Suspended'
  | 'Progressing'
  | 'GitAuthFailed'
  | 'GitUnreachable'
  | 'RefNotFound'
  | 'CheckoutTooLarge'
  | 'GitFailed'
  | 'PackageFailed'
  | 'PublishFailed'
  | 'StorageFull'
  | 'SyncFailed'
  | 'SidecarUnavailable'
  | 'RepoNameConflict'
  | 'InvalidSpec';

export interface Observation {
  status: 'True' | 'False' | 'Unknown';
  reason: Reason;
  message: string;
}

/**
 * Returns the conditions with `type` set to the observation. lastTransitionTime only moves when
 * the status flips, as Kubernetes conventions require.
 */
export function setCondition(
  conditions: Condition[] | undefined,
  type: string,
  obs: Observation,
  generation: number | undefined,
  now: Date,
): Condition[] {
  const list = conditions ?? [];
  const prev = list.find((c) => c.type === type);
  const next: Condition = {
    type,
    status: obs.status,
    reason: obs.reason,
    message: capped(obs.message),
    lastTransitionTime: prev && prev.status === obs.status ? prev.lastTransitionTime : now.toISOString(),
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
  };
  return [...list.filter((c) => c.type !== type), next];
}

export function getCondition(conditions: Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

/** True when the observation differs from what the condition already says. */
export function isTransition(prev: Condition | undefined, obs: Observation): boolean {
  return !prev || prev.status !== obs.status || prev.reason !== obs.reason;
}

/**
 * A transition that gets an Event: every one except the first observation being Unknown (a
 * missing condition already means Unknown; a new resource's "first sync running" is in its
 * status, and its Event would be one more API write per resource for nothing new).
 */
export function isAnnounced(prev: Condition | undefined, obs: Observation): boolean {
  return isTransition(prev, obs) && !(prev === undefined && obs.status === 'Unknown');
}
